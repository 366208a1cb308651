/**
 * The dispatcher's argument checks (syscall.ts): a value of the wrong kind
 * gets Linux's errno (EINVAL, EFAULT, EBADF) and a KernelError whose message
 * names the argument — its position, its name, what was expected and what
 * came — built only on failure.
 */
import { describe, expect, it } from 'vitest';
import { SimHost } from '../hyper/sim/host.ts';
import { Kernel } from './kernel.ts';
import { kernComponent } from './kern_component.ts';
import { KernelError } from './errno.ts';
import { badArgDetail, defineSyscall } from './syscall.ts';

async function kernel() {
  const sim = new SimHost({ seed: 1 });
  const k = new Kernel(sim);
  await sim.run(() => k.boot([kernComponent]));
  return { sim, k, sys: k.sys };
}

async function failure(p: Promise<unknown>): Promise<KernelError> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(KernelError);
  return e as KernelError;
}

describe('bad argument kinds', () => {
  it('keep the errno and name the argument, the expected kind and the value', async () => {
    const { sim, sys } = await kernel();
    await sim.run(async () => {
      const kill = await failure(sys.kill!('1', 9));
      expect(kill.code).toBe('EINVAL');
      expect(kill.detail).toBe('argument 1 (pid): expected an integer, got the string "1"');
      expect(kill.message).toBe('EINVAL: Invalid argument, kill (argument 1 (pid): expected an integer, got the string "1")');
      const pipeWrite = await failure(sys.write!(3, 'text'));
      expect(pipeWrite.code).toBe('EFAULT');
      expect(pipeWrite.detail).toMatch(/^argument 2 \(buf\): expected a Uint8Array, got the string "text"$/);
      const close = await failure(sys.close!(1.5));
      expect(close.code).toBe('EBADF');
      expect(close.detail).toMatch(/^argument 1 \(fd\): expected a file descriptor \(an integer\), got number 1\.5$/);
      const missing = await failure(sys.nanosleep!());
      expect(missing.code).toBe('EINVAL');
      expect(missing.detail).toMatch(/^argument 1 \(req\): expected an object, got nothing$/);
    });
  });

  it('a well-formed call that fails for another reason carries no detail', async () => {
    const { sim, sys } = await kernel();
    const e = await sim.run(() => failure(sys.close!(999)));
    expect(e.code).toBe('EBADF');
    expect(e.detail).toBeUndefined();
    expect(e.message).toBe('EBADF: Bad file descriptor, close');
  });

  it('too many arguments, and handlers whose parameter names cannot be read', () => {
    const def = defineSyscall('demo', -1, ['int', 'obj?', 'int?'], (_td, { a, b }: { a: number; b: number }, flags?: number) => a + b + (flags ?? 0));
    expect(badArgDetail(def, [1, 2, 3, 4])).toBe('demo takes at most 3 arguments, got 4');
    expect(badArgDetail(def, ['x'])).toBe('argument 1: expected an integer, got the string "x"');
    expect(badArgDetail(def, [1, undefined])).toBeUndefined();
    expect(badArgDetail(def, [1, {}, 'x'])).toBe('argument 3: expected an integer, got the string "x"'); // not misnamed 'b }'
  });
});
