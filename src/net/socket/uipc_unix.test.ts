import { describe, expect, it } from 'vitest';
import { SimHost } from '../../hyper/sim/host.ts';
import { vfsComponent } from '../../vfs/vfs_component.ts';
import { tmpfsComponent } from '../../vfs/tmpfs.ts';
import { POLLHUP, POLLIN, POLLOUT, S_IFSOCK, S_IFMT, O_RDONLY } from '../../kern/constants.ts';
import { rfork, ProcHandle } from '../../kern/lwproc.ts';
import { AF_UNIX, MSG_DONTWAIT, MSG_PEEK, MSG_WAITALL, SHUT_WR, SOCK_DGRAM, SOCK_STREAM, SOCK_NONBLOCK, SOL_SOCKET, SO_PEERCRED, SO_TYPE, SO_ACCEPTCONN } from '../index.ts';
import { dec, enc, expectCode, netKernel, type NetSys, type TestHost } from '../testkit.ts';
import type { vfsSyscalls } from '../../vfs/vfs_syscalls.ts';
import type { SysOf } from '../../kern/syscall.ts';
import type { kernSyscalls } from '../../kern/kern_component.ts';

type Sys = NetSys & SysOf<typeof vfsSyscalls> & SysOf<typeof kernSyscalls>;
const U = (path: string) => ({ family: AF_UNIX, path });

async function withKernel(fn: (h: TestHost, sys: Sys) => Promise<void>): Promise<void> {
  const host = new SimHost({ seed: 3, params: { lockdep: 'strict' } });
  try {
    await host.run(async () => {
      const h = await netKernel(host, [vfsComponent, tmpfsComponent]);
      await fn(h, h.sys as unknown as Sys);
    }, { limitSteps: 1_000_000 });
  } finally {
    host.dispose();
  }
}

describe('AF_UNIX stream', () => {
  it('bind creates a socket node; listen/connect/accept; data both ways; EOF on close', () => withKernel(async (_h, sys) => {
    const l = await sys.socket(AF_UNIX, SOCK_STREAM, 0);
    await sys.bind(l, U('/sock'));
    const st = await sys.stat('/sock');
    expect(st.mode & S_IFMT).toBe(S_IFSOCK);
    await expectCode(sys.open('/sock', O_RDONLY), 'ENXIO');
    await sys.listen(l, 5);
    expect(await sys.getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN)).toBe(1);
    expect(await sys.getsockopt(l, SOL_SOCKET, SO_TYPE)).toBe(SOCK_STREAM);
    const c = await sys.socket(AF_UNIX, SOCK_STREAM, 0);
    await sys.connect(c, U('/sock'));
    const s = await sys.accept(l);
    expect(await sys.getpeername(c)).toEqual(U('/sock'));
    expect(await sys.getsockname(s)).toEqual(U('/sock'));
    expect(await sys.getpeername(s)).toEqual(U(''));
    await sys.write(c, enc('ping'));
    const b = new Uint8Array(16);
    expect(dec(b.subarray(0, await sys.read(s, b)))).toBe('ping');
    await sys.sendto(s, enc('pong'), 0);
    expect(dec(b.subarray(0, await sys.read(c, b)))).toBe('pong');
    await sys.close(s);
    expect(await sys.read(c, b)).toBe(0);
    await expectCode(sys.write(c, enc('x')), 'EPIPE');
    const { fds: [pf] } = await sys.poll([{ fd: c, events: POLLIN | POLLOUT }], 0);
    expect(pf!.revents & POLLHUP).toBe(POLLHUP);
    await sys.close(c);
    await sys.close(l);
    // The node stays and refuses connections; a new bind on it is EADDRINUSE.
    const c2 = await sys.socket(AF_UNIX, SOCK_STREAM, 0);
    await expectCode(sys.connect(c2, U('/sock')), 'ECONNREFUSED');
    await expectCode(sys.bind(c2, U('/sock')), 'EADDRINUSE');
    await sys.unlink('/sock');
    await sys.bind(c2, U('/sock'));
    await sys.close(c2);
  }));

  it('errno of the connection calls matches Linux', () => withKernel(async (_h, sys) => {
    const a = await sys.socket(AF_UNIX, SOCK_STREAM, 0);
    await expectCode(sys.listen(a, 1), 'EINVAL'); // not bound
    await expectCode(sys.accept(a), 'EINVAL');
    await expectCode(sys.connect(a, U('/nope')), 'ENOENT');
    const f = await sys.open('/file', 0o101, 0o644);
    await sys.close(f);
    await expectCode(sys.connect(a, U('/file')), 'ECONNREFUSED');
    const d = await sys.socket(AF_UNIX, SOCK_DGRAM, 0);
    await sys.bind(d, U('/dg'));
    await expectCode(sys.connect(a, U('/dg')), 'EPROTOTYPE');
    await sys.shutdown(a, SHUT_WR); // Linux: no ENOTCONN for AF_UNIX
    await expectCode(sys.send(a, enc('x')), 'ENOTCONN');
    await expectCode(sys.getpeername(a), 'ENOTCONN');
    await expectCode(sys.listen(d, 1), 'EOPNOTSUPP');
    await sys.bind(a, U('\0abstract'));
    const b = await sys.socket(AF_UNIX, SOCK_STREAM, 0);
    await expectCode(sys.bind(b, U('\0abstract')), 'EADDRINUSE');
    await sys.listen(a, 0);
    await sys.connect(b, U('\0abstract'));
    await expectCode(sys.connect(b, U('\0abstract')), 'EISCONN');
    const nb = await sys.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    await expectCode(sys.connect(nb, U('\0abstract')), 'EAGAIN'); // backlog 0 holds one
    await expectCode(sys.bind(a, U('/other')), 'EINVAL'); // already bound
    for (const fd of [a, b, d, nb]) await sys.close(fd);
  }));

  it('search and write permission on the path are checked', () => withKernel(async (h, sys) => {
    await sys.mkdir('/priv', 0o700);
    const l = await sys.socket(AF_UNIX, SOCK_STREAM, 0);
    await sys.bind(l, U('/priv/s'));
    await sys.listen(l, 1);
    const user = new ProcHandle(h.k, rfork(h.k, { uid: 1000, gid: 1000 })).sys as unknown as Sys;
    const c = await user.socket(AF_UNIX, SOCK_STREAM, 0);
    await expectCode(user.connect(c, U('/priv/s')), 'EACCES');
    await sys.chmod('/priv', 0o755);
    await sys.chmod('/priv/s', 0o755);
    await expectCode(user.connect(c, U('/priv/s')), 'EACCES'); // no write permission on the node
    await sys.chmod('/priv/s', 0o777);
    await user.connect(c, U('/priv/s'));
    const s = await sys.accept(l);
    expect(await sys.getsockopt(s, SOL_SOCKET, SO_PEERCRED)).toMatchObject({ uid: 1000, gid: 1000 });
  }));

  it('socketpair: MSG_PEEK, MSG_WAITALL, MSG_DONTWAIT, shutdown, SO_SNDBUF back-pressure', () => withKernel(async (_h, sys) => {
    const [a, b] = await sys.socketpair(AF_UNIX, SOCK_STREAM, 0);
    await expectCode(sys.recvfrom(a!, new Uint8Array(4), MSG_DONTWAIT), 'EAGAIN');
    await sys.write(b!, enc('abc'));
    const p = new Uint8Array(2);
    const [n] = await sys.recvfrom(a!, p, MSG_PEEK);
    expect(dec(p.subarray(0, n))).toBe('ab');
    const waitAll = sys.recvfrom(a!, new Uint8Array(6), MSG_WAITALL);
    await sys.write(b!, enc('def'));
    expect((await waitAll)[0]).toBe(6);
    await sys.shutdown(b!, SHUT_WR);
    expect(await sys.read(a!, new Uint8Array(4))).toBe(0);
    await expectCode(sys.write(b!, enc('x')), 'EPIPE');
    await sys.write(a!, enc('still'));
    expect(dec(new Uint8Array(await (async () => { const q = new Uint8Array(5); await sys.read(b!, q); return q; })()))).toBe('still');
    // Back-pressure: a non-blocking writer fills SO_SNDBUF and gets a partial count, then EAGAIN.
    const [x, y] = await sys.socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const big = new Uint8Array(1 << 20);
    const w = await sys.write(x!, big);
    expect(w).toBe(212992);
    await expectCode(sys.write(x!, big), 'EAGAIN');
    let total = 0;
    const r = new Uint8Array(65536);
    for (;;) {
      try { total += await sys.read(y!, r); } catch { break; }
    }
    expect(total).toBe(w);
  }));

  it('SCM_RIGHTS passes a descriptor', () => withKernel(async (_h, sys) => {
    const [a, b] = await sys.socketpair(AF_UNIX, SOCK_STREAM, 0);
    const [pr, pw] = await sys.pipe();
    await sys.sendmsg(a!, { iov: [enc('fd')], control: [{ level: SOL_SOCKET, type: 1, fds: [pw!] }] });
    await sys.close(pw!);
    const m = await sys.recvmsg(b!, { iov: [new Uint8Array(8)] });
    expect(m.n).toBe(2);
    const fd = m.control[0]!.fds![0]!;
    await sys.write(fd, enc('through'));
    const buf = new Uint8Array(7);
    await sys.read(pr!, buf);
    expect(dec(buf)).toBe('through');
  }));
});

describe('AF_UNIX datagram', () => {
  it('sendto a bound name, recvfrom sees the sender, boundaries kept, full queue blocks', () => withKernel(async (_h, sys) => {
    const s = await sys.socket(AF_UNIX, SOCK_DGRAM, 0);
    await sys.bind(s, U('/dsock'));
    const c = await sys.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    await sys.bind(c, U('/csock'));
    await sys.sendto(c, enc('one'), 0, U('/dsock'));
    await sys.sendto(c, enc('two'), 0, U('/dsock'));
    const b = new Uint8Array(10);
    const [n, from] = await sys.recvfrom(s, b);
    expect([dec(b.subarray(0, n)), from]).toEqual(['one', U('/csock')]);
    const [n2] = await sys.recvfrom(s, b);
    expect(dec(b.subarray(0, n2))).toBe('two');
    for (let i = 0; i < 10; i++) await sys.sendto(c, enc(`${i}`), 0, U('/dsock'));
    await expectCode(sys.sendto(c, enc('x'), 0, U('/dsock')), 'EAGAIN');
    // Connected elsewhere: EPERM for strangers.
    const t = await sys.socket(AF_UNIX, SOCK_DGRAM, 0);
    await sys.bind(t, U('/tsock'));
    await sys.connect(t, U('/csock'));
    const stranger = await sys.socket(AF_UNIX, SOCK_DGRAM, 0);
    await expectCode(sys.sendto(stranger, enc('x'), 0, U('/tsock')), 'EPERM');
    await sys.close(s);
    await expectCode(sys.sendto(c, enc('x'), 0, U('/dsock')), 'ECONNREFUSED');
    await expectCode(sys.send(stranger, enc('x')), 'ENOTCONN');
  }));
});
