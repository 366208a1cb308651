/**
 * ext2 directories on disk: look a name up, list, add, remove and retarget
 * entries, block by block through the buffer cache (Linux fs/ext2/dir.c).
 *
 * Every block is parsed (dir.ts) before use, so a corrupt record is
 * reported and answered with EUCLEAN rather than followed. A directory's
 * size must be a whole number of blocks and it may have no holes.
 *
 * Adding: the first record with room after its own name (or an unused one
 * big enough) is split; failing that a new block is appended holding one
 * record that spans it. Removing: the record is merged into the one before
 * it in the block, or marked unused (inode 0) when first. Modifying an
 * htree (dir_index) directory first clears its index flag: the directory
 * stays a valid linear one (e2fsck accepts it and may rebuild the index).
 *
 * Lookups in a directory of four blocks or more build an in-core index of
 * every name on their first scan (Ext2Node.names), kept in step by add,
 * remove and retarget for as long as the vnode lives: a walk over a large
 * directory is then linear in its size, not quadratic.
 *
 * readdir cookies are byte offsets of the next record (as Linux's
 * ext2_readdir uses f_pos): they stay valid while other entries come and go,
 * since records never move.
 */
import type { Lwp } from '../../kern/sched.ts';
import { EEXIST, EMLINK, ENOENT, ENOSPC, err } from '../../kern/errno.ts';
import type { Vnode } from '../vnode.ts';
import { type Ext2Fs, en } from './fs.ts';
import { bmap, bmapAlloc } from './bmap.ts';
import { type Dirent, emitDirent, nameEq, parseDirBlock, recLenFor, setDirentIno, setDirentRecLen, setDirentType } from './dir.ts';
import { EXT2_INDEX_FL } from './inode.ts';
import type { Buf } from '../bufcache.ts';

/** Largest directory this driver walks (Linux's ext2 has no limit below 2^32 bytes; 64 MiB bounds the work). */
const MAX_DIR_BYTES = 64 * 1024 * 1024;

async function dirBlockCount(fs: Ext2Fs, dvp: Vnode): Promise<number> {
  if (dvp.size % fs.bs !== 0 || dvp.size > MAX_DIR_BYTES) throw fs.corrupt(`directory ${en(dvp).ino}: size ${dvp.size} is not a whole number of blocks (or too large)`);
  return dvp.size / fs.bs;
}

/** Read and parse logical block l of a directory; the buffer stays held. */
async function dirBlock(fs: Ext2Fs, td: Lwp, dvp: Vnode, l: number): Promise<{ bp: Buf; ents: Dirent[] }> {
  const b = await bmap(fs, td, dvp, l);
  if (b === 0) throw fs.corrupt(`directory ${en(dvp).ino}: hole at block ${l}`);
  const bp = await fs.bread(td, b);
  const r = parseDirBlock(bp.data, fs.filetype, fs.sb.inodesCount);
  if (!r.ok) {
    fs.bc.brelse(td, bp);
    throw fs.corrupt(`directory ${en(dvp).ino}, block ${l}: ${r.why}`);
  }
  return { bp, ents: r.value };
}

export interface Found {
  ino: number;
  fileType: number;
}

/** Directories of at least this many blocks get an in-core name index on first lookup. */
const INDEX_MIN_BLOCKS = 4;

/** A name's bytes as a string key, one char per byte (exact for any bytes, unlike UTF-8 decoding). */
function key(name: Uint8Array): string {
  let k = '';
  for (let i = 0; i < name.byteLength; i++) k += String.fromCharCode(name[i]!);
  return k;
}

/** Look name up; null when absent. */
export async function dirLookup(fs: Ext2Fs, td: Lwp, dvp: Vnode, name: Uint8Array): Promise<Found | null> {
  const node = en(dvp);
  if (node.names) return node.names.get(key(name)) ?? null;
  const nb = await dirBlockCount(fs, dvp);
  if (nb >= INDEX_MIN_BLOCKS) {
    // One scan builds the index; later lookups in this directory are map hits.
    const names = new Map<string, Found>();
    for (let l = 0; l < nb; l++) {
      const { bp, ents } = await dirBlock(fs, td, dvp, l);
      for (const e of ents) if (e.ino !== 0) names.set(key(e.name), { ino: e.ino, fileType: e.fileType });
      fs.bc.brelse(td, bp);
    }
    node.names = names;
    return names.get(key(name)) ?? null;
  }
  for (let l = 0; l < nb; l++) {
    const { bp, ents } = await dirBlock(fs, td, dvp, l);
    for (const e of ents) {
      if (e.ino !== 0 && nameEq(e.name, name)) {
        const r = { ino: e.ino, fileType: e.fileType };
        fs.bc.brelse(td, bp);
        return r;
      }
    }
    fs.bc.brelse(td, bp);
  }
  return null;
}

const dec = new TextDecoder();

/** readdir from byte offset `cookie`: emit(ino, fileType, name, nextCookie) until it says stop; true at the end. */
export async function dirList(fs: Ext2Fs, td: Lwp, dvp: Vnode, cookie: number, emit: (ino: number, ft: number, name: string, next: number) => boolean): Promise<boolean> {
  const nb = await dirBlockCount(fs, dvp);
  for (let l = Math.floor(cookie / fs.bs); l < nb; l++) {
    const { bp, ents } = await dirBlock(fs, td, dvp, l);
    const base = l * fs.bs;
    const out: [number, number, string, number][] = [];
    for (const e of ents) if (e.ino !== 0 && base + e.off >= cookie) out.push([e.ino, e.fileType, dec.decode(e.name), base + e.off + e.recLen]);
    fs.bc.brelse(td, bp);
    for (const [ino, ft, name, next] of out) if (!emit(ino, ft, name, next)) return false;
  }
  return true;
}

/** Does the directory hold only '.', '..' and unused records? */
export async function dirIsEmpty(fs: Ext2Fs, td: Lwp, dvp: Vnode): Promise<boolean> {
  const nb = await dirBlockCount(fs, dvp);
  for (let l = 0; l < nb; l++) {
    const { bp, ents } = await dirBlock(fs, td, dvp, l);
    fs.bc.brelse(td, bp);
    for (const e of ents) {
      if (e.ino === 0) continue;
      const n = e.name;
      const dot = n.byteLength === 1 && n[0] === 0x2e;
      const dotdot = n.byteLength === 2 && n[0] === 0x2e && n[1] === 0x2e;
      if (!dot && !dotdot) return false;
    }
  }
  return true;
}

/** Clear EXT2_INDEX_FL before changing a directory (the index would go stale). */
export async function dirClearIndex(fs: Ext2Fs, td: Lwp, dvp: Vnode): Promise<void> {
  const i = en(dvp).inode;
  if ((i.flags & EXT2_INDEX_FL) === 0) return;
  i.flags &= ~EXT2_INDEX_FL;
  await fs.iupdate(td, dvp);
}

/** Add name → ino (known absent). Writes the directory's inode if it grew. */
export async function dirAdd(fs: Ext2Fs, td: Lwp, dvp: Vnode, name: Uint8Array, ino: number, ft: number): Promise<void> {
  await dirClearIndex(fs, td, dvp);
  const need = recLenFor(name.byteLength);
  const nb = await dirBlockCount(fs, dvp);
  for (let l = 0; l < nb; l++) {
    const { bp, ents } = await dirBlock(fs, td, dvp, l);
    for (const e of ents) {
      if (e.ino === 0 && e.recLen >= need) {
        emitDirent(bp.data, e.off, ino, e.recLen, name, ft, fs.filetype);
        fs.bc.bdwrite(td, bp);
        en(dvp).names?.set(key(name), { ino, fileType: ft });
        return;
      }
      const used = recLenFor(e.name.byteLength);
      if (e.ino !== 0 && e.recLen - used >= need) {
        setDirentRecLen(bp.data, e.off, used);
        emitDirent(bp.data, e.off + used, ino, e.recLen - used, name, ft, fs.filetype);
        fs.bc.bdwrite(td, bp);
        en(dvp).names?.set(key(name), { ino, fileType: ft });
        return;
      }
    }
    fs.bc.brelse(td, bp);
  }
  if (dvp.size + fs.bs > MAX_DIR_BYTES) throw err(ENOSPC);
  const { b } = await bmapAlloc(fs, td, dvp, nb, 0);
  const bp = await fs.bnew(td, b);
  emitDirent(bp.data, 0, ino, fs.bs, name, ft, fs.filetype);
  fs.bc.bdwrite(td, bp);
  en(dvp).names?.set(key(name), { ino, fileType: ft });
  dvp.size += fs.bs;
  await fs.iupdate(td, dvp);
}

/** Remove name; returns the inode it named. ENOENT when absent. */
export async function dirRemove(fs: Ext2Fs, td: Lwp, dvp: Vnode, name: Uint8Array): Promise<number> {
  await dirClearIndex(fs, td, dvp);
  const nb = await dirBlockCount(fs, dvp);
  for (let l = 0; l < nb; l++) {
    const { bp, ents } = await dirBlock(fs, td, dvp, l);
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      if (e.ino === 0 || !nameEq(e.name, name)) continue;
      if (i > 0) setDirentRecLen(bp.data, ents[i - 1]!.off, ents[i - 1]!.recLen + e.recLen);
      else setDirentIno(bp.data, e.off, 0);
      fs.bc.bdwrite(td, bp);
      en(dvp).names?.delete(key(name));
      return e.ino;
    }
    fs.bc.brelse(td, bp);
  }
  throw err(ENOENT);
}

/** Point existing entry `name` at ino (rename over a target, '..' of a moved directory). */
export async function dirRetarget(fs: Ext2Fs, td: Lwp, dvp: Vnode, name: Uint8Array, ino: number, ft: number): Promise<void> {
  await dirClearIndex(fs, td, dvp);
  const nb = await dirBlockCount(fs, dvp);
  for (let l = 0; l < nb; l++) {
    const { bp, ents } = await dirBlock(fs, td, dvp, l);
    for (const e of ents) {
      if (e.ino === 0 || !nameEq(e.name, name)) continue;
      setDirentIno(bp.data, e.off, ino);
      setDirentType(bp.data, e.off, ft, fs.filetype);
      fs.bc.bdwrite(td, bp);
      en(dvp).names?.set(key(name), { ino, fileType: ft });
      return;
    }
    fs.bc.brelse(td, bp);
  }
  throw fs.corrupt(`directory ${en(dvp).ino}: entry ${dec.decode(name)} vanished`);
}

/** The first block of a new directory: '.' and '..' (Linux ext2_make_empty). */
export async function dirInit(fs: Ext2Fs, td: Lwp, vp: Vnode, parentIno: number): Promise<void> {
  const { b } = await bmapAlloc(fs, td, vp, 0, 0);
  const bp = await fs.bnew(td, b);
  emitDirent(bp.data, 0, en(vp).ino, 12, new Uint8Array([0x2e]), 2, fs.filetype);
  emitDirent(bp.data, 12, parentIno, fs.bs - 12, new Uint8Array([0x2e, 0x2e]), 2, fs.filetype);
  fs.bc.bdwrite(td, bp);
  vp.size = fs.bs;
}

/** EXT2_LINK_MAX. */
export const LINK_MAX = 32000;
export function checkLinkMax(vp: Vnode): void {
  if (vp.nlink >= LINK_MAX) throw err(EMLINK);
}
export { EEXIST };
