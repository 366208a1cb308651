/**
 * Shared machinery of the conformance suite: run a body once per available
 * target with a fresh root per test, assert errno codes, wait for the file
 * system clock to move, and small file helpers.
 *
 *     forTargets((t) => {
 *       it('unlink of a missing name is ENOENT', async () => {
 *         await expectErrno(t().unlink('nope'), 'ENOENT');
 *       });
 *     });
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { C, type Capabilities, type Target, type TargetFactory, type Timespec } from './target.ts';
import { selectedTargets } from './targets/index.ts';

interface Resolved {
  f: TargetFactory;
  /** true, a reason it cannot run here (skipped), or the error it failed with (a failure). */
  avail: true | string | Error;
}

const resolved: Resolved[] = await Promise.all(
  selectedTargets().map(async (f) => ({
    f,
    avail: await f.available().catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))),
  })),
);

/** Run `body` in a describe block per target; `t()` is that test's fresh target. */
export function forTargets(body: (t: () => Target) => void): void {
  for (const { f, avail } of resolved) {
    if (avail instanceof Error) {
      // A target that should run but cannot even start is a failure, not a skip.
      describe(f.name, () => {
        it('starts', () => {
          throw avail;
        });
      });
      continue;
    }
    if (avail !== true) {
      describe.skip(`${f.name} (skipped: ${avail})`, () => body(() => undefined as unknown as Target));
      continue;
    }
    describe(f.name, () => {
      let cur: Target | undefined;
      beforeEach(async () => {
        cur = await f.setup();
      });
      afterEach(async () => {
        const t = cur;
        cur = undefined;
        await t?.teardown();
      });
      body(() => {
        if (cur === undefined) throw new Error('target used outside a test');
        return cur;
      });
    });
  }
}

/** Skip the running test unless the target can do this (a documented difference). */
export function need(ctx: { skip: (note?: string) => void }, t: Target, cap: keyof Capabilities): void {
  if (!t.caps[cap]) ctx.skip(`${t.name} lacks capability '${cap}' (see test/README.md DIFFERENCES)`);
}

/** Await p and assert it failed with errno `code`. */
export async function expectErrno(p: Promise<unknown>, code: string): Promise<void> {
  let v: unknown;
  try {
    v = await p;
  } catch (e) {
    expect((e as { code?: unknown }).code, String(e)).toBe(code);
    return;
  }
  expect.fail(`expected ${code}, but the call succeeded with ${JSON.stringify(v)}`);
}

/** The errno code of p's failure, or 'OK'. */
export async function errnoOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    return String((e as { code?: unknown }).code);
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();
export const bytes = (s: string): Uint8Array => enc.encode(s);
export const text = (b: Uint8Array): string => dec.decode(b);

export async function writeFile(t: Target, path: string, data: string | Uint8Array = '', mode = 0o644): Promise<void> {
  const fd = await t.open(path, C.O_WRONLY | C.O_CREAT | C.O_TRUNC, mode);
  try {
    if (data.length > 0) expect(await t.write(fd, data)).toBe(typeof data === 'string' ? bytes(data).length : data.length);
  } finally {
    await t.close(fd);
  }
}

export async function readFile(t: Target, path: string): Promise<string> {
  const fd = await t.open(path, C.O_RDONLY);
  try {
    let out = '';
    for (;;) {
      const b = await t.read(fd, 65536);
      if (b.length === 0) return out;
      out += text(b);
    }
  } finally {
    await t.close(fd);
  }
}

export const fileType = (mode: number): number => mode & C.S_IFMT;
export const perms = (mode: number): number => mode & 0o7777;

/** Compare timespecs: <0, 0, >0. */
export function tcmp(a: Timespec, b: Timespec): number {
  return a.sec !== b.sec ? a.sec - b.sec : a.nsec - b.nsec;
}

/**
 * Wait until the target's file-system clock has moved past every timestamp
 * given out so far, so "did this op change ctime?" has a visible answer even
 * on a host whose tmpfs clock ticks per jiffy. Polls a scratch file's ctime
 * (futimens(UTIME_NOW) each round); no sleeping, no wall-clock assertion.
 * Creates `.tick` in the target root on first use (do it before measuring
 * the root directory's own times).
 */
export async function tick(t: Target): Promise<void> {
  const fd = await t.open(`${t.root}/.tick`, C.O_WRONLY | C.O_CREAT, 0o600);
  try {
    await t.futimens(fd, null);
    const c0 = (await t.fstat(fd)).ctime;
    for (let i = 0; i < 10_000; i++) {
      await t.futimens(fd, null);
      if (tcmp((await t.fstat(fd)).ctime, c0) > 0) return;
    }
    throw new Error(`${t.name}: file-system clock did not advance`);
  } finally {
    await t.close(fd);
  }
}

/** Unprivileged identities used by permission tests (need not exist in /etc/passwd). */
export const U1 = 1001;
export const U2 = 1002;
export const G1 = 1001;
export const G2 = 1002;
/** A supplementary group. */
export const GS = 2001;
