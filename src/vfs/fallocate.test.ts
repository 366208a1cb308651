/**
 * fallocate(2) cases the conformance suite cannot compare with the host:
 * sizes past 2^53 (JavaScript numbers), a request bigger than the machine on
 * a tmpfs without size= (it must fail at once, not try to allocate), and
 * file types only the kernel target reaches (character devices, pipes).
 * The modes, their effect on data and times, EINVAL/EBADF/ESPIPE/ENOSPC and
 * set-id clearing run on every target in test/conformance (files.test.ts,
 * times.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { boot, type BootedKernel } from '../frontends/library/boot.ts';
import { SimHost } from '../hyper/sim/host.ts';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, O_CREAT, O_RDWR, O_WRONLY } from '../kern/constants.ts';

const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));

let k: BootedKernel | null = null;
afterEach(async () => {
  const report = await k?.shutdown();
  k = null;
  if (report !== undefined) expect(report.clean).toBe(true);
});

describe('fallocate', () => {
  it('an end past 2^53-1 is EFBIG; a huge range on a tmpfs without size= is ENOSPC at once, with nothing allocated', async () => {
    k = await boot({ host: new SimHost({ seed: 1 }) }); // memlimit 256 MiB: the default bound is half of it
    const fd = await k.sys.open('/f', O_CREAT | O_RDWR, 0o644);
    expect(await code(k.sys.fallocate(fd, 0, 2 ** 52, 2 ** 52))).toBe('EFBIG');
    expect(await code(k.sys.fallocate(fd, 0, 0, 2 ** 50))).toBe('ENOSPC');
    expect(await code(k.sys.fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 200 << 20))).toBe('ENOSPC');
    const st = await k.sys.fstat(fd);
    expect([st.size, st.blocks]).toEqual([0, 0]);
    await k.sys.fallocate(fd, 0, 0, 64 << 20); // within the bound: allocated, blocks counted
    expect((await k.sys.fstat(fd)).blocks).toBe((64 << 20) / 512);
    await k.sys.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 64 << 20); // whole pages are freed again
    const after = await k.sys.fstat(fd);
    expect([after.size, after.blocks]).toEqual([64 << 20, 0]);
    await k.sys.close(fd);
  });

  it('a character device is ENODEV, a pipe ESPIPE', async () => {
    k = await boot({ host: new SimHost({ seed: 2 }) });
    const nul = await k.sys.open('/dev/null', O_WRONLY);
    expect(await code(k.sys.fallocate(nul, 0, 0, 10))).toBe('ENODEV');
    await k.sys.close(nul);
    const [r, w] = await k.sys.pipe();
    expect(await code(k.sys.fallocate(w, 0, 0, 10))).toBe('ESPIPE');
    await k.sys.close(r);
    await k.sys.close(w);
  });
});
