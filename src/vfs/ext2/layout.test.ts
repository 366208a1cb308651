/**
 * Round trips of every on-disk structure (parse ∘ emit = identity on valid
 * values; emit keeps the bytes it does not interpret), and the checks each
 * parser makes on bytes that break the format.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  EXT2_MAGIC, SB_SIZE, type Superblock, emitSuperblock, groupHasSuper, parseSuperblock, unknownFeatures, INCOMPAT_NAMES,
} from './superblock.ts';
import { GD_SIZE, type GroupDesc, emitGroup, groupRange, itableBlocks, parseGroup } from './groups.ts';
import { type Inode, decodeDev, emitInode, encodeDev, parseInode } from './inode.ts';
import { emitDirent, parseDirBlock, recLenFor } from './dir.ts';
import { blockPath } from './bmap.ts';

const sbArb: fc.Arbitrary<Superblock> = fc
  .record({
    log: fc.integer({ min: 0, max: 2 }),
    groups: fc.integer({ min: 1, max: 40 }),
    ipgUnits: fc.integer({ min: 2, max: 8 }),
    inode256: fc.boolean(),
    lastGroupShort: fc.integer({ min: 0, max: 100 }),
    mntCount: fc.integer({ min: 0, max: 0xffff }),
    maxMntCount: fc.integer({ min: -1, max: 0x7fff }),
    state: fc.integer({ min: 0, max: 3 }),
    times: fc.array(fc.nat({ max: 0xffffffff }), { minLength: 4, maxLength: 4 }),
    features: fc.array(fc.nat({ max: 0xffffffff }), { minLength: 3, maxLength: 3 }),
    ids: fc.array(fc.nat({ max: 0xffff }), { minLength: 2, maxLength: 2 }),
    lastOrphan: fc.nat({ max: 0xffffffff }),
  })
  .map((r) => {
    const blockSize = 1024 << r.log;
    const bpg = 8 * blockSize;
    const firstDataBlock = blockSize === 1024 ? 1 : 0;
    const blocksCount = firstDataBlock + r.groups * bpg - (r.groups > 1 ? r.lastGroupShort : 0);
    const ipg = r.ipgUnits * 8;
    return {
      inodesCount: r.groups * ipg, blocksCount, rBlocksCount: Math.floor(blocksCount / 20), freeBlocksCount: Math.floor(blocksCount / 2),
      freeInodesCount: ipg, firstDataBlock, logBlockSize: r.log, blocksPerGroup: bpg, inodesPerGroup: ipg,
      mtime: r.times[0]!, wtime: r.times[1]!, mntCount: r.mntCount, maxMntCount: r.maxMntCount, state: r.state, errors: 1,
      lastcheck: r.times[2]!, revLevel: 1, defResuid: r.ids[0]!, defResgid: r.ids[1]!, firstIno: 11, inodeSize: r.inode256 ? 256 : 128,
      featureCompat: r.features[0]!, featureIncompat: r.features[1]!, featureRoCompat: r.features[2]!, lastOrphan: r.lastOrphan,
      wantExtraIsize: 32, blockSize, groupCount: r.groups,
    };
  });

describe('superblock', () => {
  it('parse(emit(sb)) = sb, and bytes it does not interpret survive', () => {
    fc.assert(
      fc.property(sbArb, fc.uint8Array({ minLength: SB_SIZE, maxLength: SB_SIZE }), (sb, noise) => {
        const bytes = emitSuperblock(sb, noise);
        const r = parseSuperblock(bytes, sb.blocksCount * sb.blockSize);
        expect(r).toEqual({ ok: true, value: sb });
        expect(bytes.subarray(104, 200)).toEqual(noise.subarray(104, 200)); // uuid, volume name, last mounted
      }),
    );
  });

  it('rejects what would mislead later code, saying what', () => {
    const sb = fc.sample(sbArb, { numRuns: 1, seed: 1 })[0]!;
    const good = emitSuperblock(sb, new Uint8Array(SB_SIZE));
    const bad = (at: number, v: number, size = 4): string => {
      const b = good.slice();
      const dv = new DataView(b.buffer);
      if (size === 2) dv.setUint16(at, v, true); else dv.setUint32(at, v, true);
      const r = parseSuperblock(b, sb.blocksCount * sb.blockSize);
      return r.ok ? 'ok' : r.why;
    };
    expect(bad(56, 0x1234, 2)).toMatch(/magic/);
    expect(bad(24, 30)).toMatch(/block size/);
    expect(bad(40, 0)).toMatch(/inodes per group/);
    expect(bad(4, 0xffffffff)).toMatch(/exceeds the device/);
    expect(bad(88, 100, 2)).toMatch(/inode size/);
    expect(bad(0, 12345)).toMatch(/inodes count/);
    expect(parseSuperblock(good.subarray(0, 100), 1 << 30).ok).toBe(false);
    expect(EXT2_MAGIC).toBe(0xef53);
  });

  it('sparse_super backups sit in groups 0, 1 and powers of 3, 5, 7', () => {
    const sb = { ...fc.sample(sbArb, { numRuns: 1, seed: 2 })[0]!, featureRoCompat: 1 };
    const withSuper = Array.from({ length: 130 }, (_, g) => g).filter((g) => groupHasSuper(sb, g));
    expect(withSuper).toEqual([0, 1, 3, 5, 7, 9, 25, 27, 49, 81, 125]);
    expect(unknownFeatures(0x40 | 0x2 | 0x200, 0x2, INCOMPAT_NAMES)).toEqual(['extent', 'flex_bg']);
  });
});

describe('group descriptors', () => {
  it('parse(emit(gd)) = gd for descriptors inside their group; outside is refused', () => {
    fc.assert(
      fc.property(sbArb, fc.nat(), fc.nat(), fc.nat(), (sb, gi, a, b) => {
        const g = gi % sb.groupCount;
        const [first, last] = groupRange(sb, g);
        const span = last - first + 1;
        if (span < itableBlocks(sb) + 3) return;
        const gd: GroupDesc = {
          blockBitmap: first + (a % 2), inodeBitmap: first + 2, inodeTable: first + 3 + (b % Math.max(1, span - itableBlocks(sb) - 3)),
          freeBlocks: a % (span + 1), freeInodes: b % (sb.inodesPerGroup + 1), usedDirs: (a + b) % (sb.inodesPerGroup + 1),
        };
        const bytes = new Uint8Array(GD_SIZE).fill(0xee);
        emitGroup(gd, bytes);
        expect(parseGroup(sb, g, bytes)).toEqual({ ok: true, value: gd });
        expect(bytes.subarray(18)).toEqual(new Uint8Array(GD_SIZE - 18).fill(0xee));
        emitGroup({ ...gd, inodeTable: last }, bytes);
        expect(parseGroup(sb, g, bytes).ok).toBe(itableBlocks(sb) === 1);
      }),
    );
  });
});

const ts = fc.record({ sec: fc.integer({ min: -(2 ** 31), max: 2 ** 34 - 2 ** 31 - 1 }), nsec: fc.integer({ min: 0, max: 999_999_999 }) });
const inodeArb = (big: boolean): fc.Arbitrary<Inode> =>
  fc.record({
    mode: fc.constantFrom(0o100644, 0o40755, 0o120777, 0o20600, 0o60600, 0o10644, 0o140755, 0o104755),
    uid: fc.nat({ max: 0xffffffff }), gid: fc.nat({ max: 0xffffffff }), size: fc.nat({ max: 2 ** 40 }),
    atime: ts, ctime: ts, mtime: ts, crtime: ts, dtime: fc.nat({ max: 0xffffffff }), linksCount: fc.nat({ max: 0xffff }),
    blocks: fc.nat({ max: 2 ** 40 }), flags: fc.nat({ max: 0xffffffff }), block: fc.array(fc.nat({ max: 0xffffffff }), { minLength: 15, maxLength: 15 }),
    generation: fc.nat({ max: 0xffffffff }), fileAcl: fc.nat({ max: 0xffffffff }), extraIsize: fc.constant(big ? 32 : 0),
  }).map((i) => {
    const dirOrReg = (i.mode & 0o170000) === 0o100000 || (i.mode & 0o170000) === 0o40000;
    const small = { ...i, size: dirOrReg ? i.size : i.size % 2 ** 32 };
    // 128-byte inodes keep whole seconds in 32 bits and no creation time.
    return big ? small : { ...small, atime: s32(i.atime), ctime: s32(i.ctime), mtime: s32(i.mtime), crtime: { sec: 0, nsec: 0 } };
  });
const s32 = (t: { sec: number }): { sec: number; nsec: number } => ({ sec: t.sec | 0, nsec: 0 });

describe('inodes', () => {
  for (const size of [128, 256]) {
    it(`parse(emit(inode)) = inode for ${size}-byte inodes`, () => {
      fc.assert(
        fc.property(inodeArb(size > 128), fc.uint8Array({ minLength: size, maxLength: size }), (ino, noise) => {
          const bytes = noise.slice();
          if (size > 128) bytes.fill(0, 128, 160);
          emitInode(ino, bytes, size);
          expect(parseInode(bytes, size, 2 ** 50)).toEqual({ ok: true, value: ino });
          if (size > 128) expect(bytes.subarray(160)).toEqual(noise.subarray(160)); // in-inode xattrs kept
        }),
      );
    });
  }
  it('refuses a mode without a file type, an absurd size or extra size', () => {
    const b = new Uint8Array(256);
    expect(parseInode(b, 256, 1 << 30)).toMatchObject({ ok: false });
    b[1] = 0x81; // 0o100000 regular
    b[108] = 1; // i_size_high: 4 GiB
    expect(parseInode(b, 256, 1 << 30)).toMatchObject({ ok: false, why: expect.stringMatching(/size/) });
    b[108] = 0;
    b[128] = 200;
    expect(parseInode(b, 256, 1 << 30)).toMatchObject({ ok: false, why: expect.stringMatching(/extra/) });
  });
  it('device numbers: old encoding when both fit in 8 bits, new otherwise', () => {
    fc.assert(fc.property(fc.nat({ max: 0xfff }), fc.nat({ max: 0xfffff }), (maj, min) => {
      const blk = new Array<number>(15).fill(0);
      encodeDev(blk, maj, min);
      expect(decodeDev(blk)).toEqual(maj === 0 && min === 0 ? { major: 0, minor: 0 } : { major: maj, minor: min });
    }));
  });
});

describe('directory blocks', () => {
  const nameArb = fc.uint8Array({ minLength: 1, maxLength: 255 }).map((b) => b.map((c) => (c === 0 || c === 0x2f ? 0x61 : c)));
  it('records emitted to fill a block parse back in order', () => {
    fc.assert(
      fc.property(fc.constantFrom(1024, 4096), fc.array(fc.record({ ino: fc.integer({ min: 1, max: 1000 }), name: nameArb, ft: fc.integer({ min: 1, max: 7 }) }), { maxLength: 12 }), (bs, ents) => {
        const b = new Uint8Array(bs);
        let off = 0;
        const placed: typeof ents = [];
        for (const e of ents) {
          const need = recLenFor(e.name.byteLength);
          if (off + need > bs - 12) break;
          placed.push(e);
          off += need;
        }
        off = 0;
        placed.forEach((e, i) => {
          const len = i === placed.length - 1 ? bs - off : recLenFor(e.name.byteLength);
          emitDirent(b, off, e.ino, len, e.name, e.ft, true);
          off += len;
        });
        if (placed.length === 0) emitDirent(b, 0, 0, bs, new Uint8Array(0), 0, true);
        const r = parseDirBlock(b, true, 1000);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.value.filter((e) => e.ino !== 0).map((e) => ({ ino: e.ino, name: [...e.name], ft: e.fileType }))).toEqual(placed.map((e) => ({ ino: e.ino, name: [...e.name], ft: e.ft })));
      }),
    );
  });
  it('refuses short, unaligned, overlong and out-of-range records', () => {
    const mk = (ino: number, rec: number, nameLen: number): string => {
      const b = new Uint8Array(1024);
      new DataView(b.buffer).setUint32(0, ino, true);
      new DataView(b.buffer).setUint16(4, rec, true);
      b[6] = nameLen;
      const r = parseDirBlock(b, true, 100);
      return r.ok ? 'ok' : r.why;
    };
    expect(mk(5, 1024, 3)).toBe('ok');
    expect(mk(5, 4, 1)).toMatch(/smaller than minimal/);
    expect(mk(5, 1022, 1)).toMatch(/unaligned/);
    expect(mk(5, 2048, 1)).toMatch(/crosses/);
    expect(mk(500, 1024, 1)).toMatch(/inode 500/);
    expect(mk(5, 12, 9)).toMatch(/too small/);
  });
});

describe('block map paths', () => {
  it('cover direct, single, double and triple indirect ranges without gaps', () => {
    const a = 256;
    expect(blockPath(a, 11)).toEqual([11]);
    expect(blockPath(a, 12)).toEqual([12, 0]);
    expect(blockPath(a, 12 + a)).toEqual([13, 0, 0]);
    expect(blockPath(a, 12 + a + a * a)).toEqual([14, 0, 0, 0]);
    expect(blockPath(a, 12 + a + a * a + a * a * a - 1)).toEqual([14, a - 1, a - 1, a - 1]);
    expect(blockPath(a, 12 + a + a * a + a * a * a)).toBeNull();
  });
});
