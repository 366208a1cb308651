/**
 * fs.watch on the kernel sees changes made through FUSE: a kernel served by
 * `anykernel mount --listen` in a child process, watched through anykernel/fs
 * over a sysproxy connection, while host programs' system calls reach it
 * through the mount. Needs root and /dev/fuse (skipped otherwise; a failure
 * under CI=true).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { requireFuse, startMount, type Mounted } from './mount.ts';
import { connect, type RemoteKernel } from '../../src/frontends/sysproxy/client.ts';
import { createFs } from '../../src/frontends/library/fs.ts';

const enabled = requireFuse('fs.watch through FUSE');

describe.runIf(enabled)('fs.watch on a kernel changed through its FUSE mount', () => {
  let m: Mounted;
  let rk: RemoteKernel;
  const sock = path.join(os.tmpdir(), `akfs-watch-fuse-${process.pid}.sock`);

  beforeAll(async () => {
    m = await startMount({ args: ['--listen', `unix:${sock}`] });
    rk = await connect(`unix:${sock}`);
  }, 90_000);

  afterAll(async () => {
    await rk?.close();
    await m?.stop();
  });

  it('create, write, chmod, rename and unlink through the mount arrive as fs.watch events', async () => {
    const kfs = createFs(rk) as unknown as typeof fs;
    await kfs.promises.mkdir('/w');
    const events: string[] = [];
    let waiting: { name: string; res: () => void } | null = null;
    const w = kfs.watch('/w', (type, name) => {
      events.push(`${type} ${String(name)}`);
      if (waiting !== null && String(name) === waiting.name) {
        const r = waiting.res;
        waiting = null;
        r();
      }
    });
    await kfs.promises.access('/w'); // the watch is in place
    const seen = new Promise<void>((res) => { waiting = { name: 'done', res }; });
    const d = path.join(m.dir, 'w');
    fs.writeFileSync(path.join(d, 'f'), 'through fuse');
    fs.chmodSync(path.join(d, 'f'), 0o600);
    fs.renameSync(path.join(d, 'f'), path.join(d, 'g'));
    fs.unlinkSync(path.join(d, 'g'));
    fs.mkdirSync(path.join(d, 'done'));
    await seen;
    w.close();
    // The host's VFS may add calls of its own (a SETATTR, a FLUSH): check the expected ones in order.
    const want = ['rename f', 'change f', 'change f', 'rename f', 'rename g', 'rename g', 'rename done'];
    let i = 0;
    for (const e of events) if (e === want[i]) i++;
    expect(i, events.join(', ')).toBe(want.length);
  }, 60_000);
});
