/**
 * External oracle for wait statuses: the same scenarios run as real Linux
 * processes (python3's os.fork/os.kill/os.waitpid, raw status words) and as
 * anykernel processes must give identical wait(2) status words. Skipped when
 * the host has no python3 or is not Linux.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { SimHost } from '../hyper/sim/index.ts';
import { boot } from '../frontends/library/boot.ts';
import { SIGCONT, SIGKILL, SIGSTOP, SIGTERM, SIGUSR1, WCONTINUED, WUNTRACED } from './constants.ts';

const SCRIPT = `
import os, signal, time, json
def child(f):
    pid = os.fork()
    if pid == 0:
        try: f()
        finally: os._exit(0)
    return pid
out = {}
p = child(lambda: os._exit(42)); out['exit42'] = os.waitpid(p, 0)[1]
p = child(lambda: os._exit(300)); out['exit300'] = os.waitpid(p, 0)[1]
p = child(lambda: time.sleep(10)); os.kill(p, signal.SIGTERM); out['term'] = os.waitpid(p, 0)[1]
p = child(lambda: time.sleep(10)); os.kill(p, signal.SIGUSR1); out['usr1'] = os.waitpid(p, 0)[1]
p = child(lambda: time.sleep(10)); os.kill(p, signal.SIGSTOP); out['stop'] = os.waitpid(p, os.WUNTRACED)[1]
os.kill(p, signal.SIGCONT); out['cont'] = os.waitpid(p, os.WCONTINUED)[1]
os.kill(p, signal.SIGKILL); out['kill'] = os.waitpid(p, 0)[1]
print(json.dumps(out))
`;

function hostStatuses(): Record<string, number> | null {
  if (process.platform !== 'linux') return null;
  try {
    return JSON.parse(execFileSync('python3', ['-c', SCRIPT], { encoding: 'utf8', timeout: 20_000 })) as Record<string, number>;
  } catch {
    return null;
  }
}

const host = hostStatuses();

describe.skipIf(host === null)('wait statuses against Linux', () => {
  it('exit codes, terminating signals, stop and continue encode like Linux', async () => {
    const sim = new SimHost({ seed: 11 });
    const ours: Record<string, number> = {};
    await sim.run(async () => {
      const bk = await boot({ host: sim, components: ['kern'] });
      const settle = () => sim.world.sleep(1000);
      let c = bk.rfork();
      await c.sys.exit!(42);
      ours['exit42'] = (await bk.sys.wait4(c.pid, 0)).status;
      c = bk.rfork();
      await c.sys.exit!(300);
      ours['exit300'] = (await bk.sys.wait4(c.pid, 0)).status;
      for (const [name, sig] of [['term', SIGTERM], ['usr1', SIGUSR1]] as const) {
        c = bk.rfork();
        await bk.sys.kill(c.pid, sig);
        await settle();
        ours[name] = (await bk.sys.wait4(c.pid, 0)).status;
      }
      c = bk.rfork();
      await bk.sys.kill(c.pid, SIGSTOP);
      ours['stop'] = (await bk.sys.wait4(c.pid, WUNTRACED)).status;
      await bk.sys.kill(c.pid, SIGCONT);
      ours['cont'] = (await bk.sys.wait4(c.pid, WCONTINUED)).status;
      await bk.sys.kill(c.pid, SIGKILL);
      ours['kill'] = (await bk.sys.wait4(c.pid, 0)).status;
    }, { limitNs: 10_000_000_000n });
    expect(ours).toEqual(host);
  });
});
