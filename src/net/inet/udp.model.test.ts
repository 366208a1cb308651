/**
 * UDP against a model: kernel A sends datagrams of random sizes to random
 * ports of kernel B, where sockets are bound, read (with and without
 * MSG_PEEK) and closed at random. The model — a FIFO per bound port that
 * accepts a datagram while its charged size (length + UDP_SKB_OVERHEAD)
 * fits SO_RCVBUF — predicts every receive. A barrier datagram on its own
 * socket after each send makes delivery happen before the next command
 * (links are FIFO).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { onBus, type TestHost } from '../testkit.ts';
import { AF_INET, MSG_DONTWAIT, MSG_PEEK, SOCK_DGRAM, SOL_SOCKET, SO_RCVBUF } from '../index.ts';
import { UDP_SKB_OVERHEAD } from './udp.ts';

const PORTS = [5001, 5002];
const RCVBUF = 2304; // as getsockopt reports it: Linux's minimum (setsockopt asked 1152)

interface Model { queues: Map<number, number[][]> }
interface Real { a: TestHost; b: TestHost; sender: number; barrierTx: number; barrierRx: number; fds: Map<number, number> }

const to = (port: number) => ({ family: AF_INET, addr: '10.0.0.2', port });

async function barrier(r: Real): Promise<void> {
  await r.a.sys.sendto(r.sender, new Uint8Array([0]), 0, to(6000));
  await r.b.sys.recvfrom(r.barrierRx, new Uint8Array(1));
}

class Bind implements fc.AsyncCommand<Model, Real> {
  constructor(readonly port: number) {}
  check(m: Readonly<Model>) { return !m.queues.has(this.port); }
  async run(m: Model, r: Real) {
    const fd = await r.b.sys.socket(AF_INET, SOCK_DGRAM, 0);
    await r.b.sys.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, RCVBUF / 2);
    await r.b.sys.bind(fd, { family: AF_INET, addr: '0.0.0.0', port: this.port });
    r.fds.set(this.port, fd);
    m.queues.set(this.port, []);
  }
  toString() { return `bind(${this.port})`; }
}

class Close implements fc.AsyncCommand<Model, Real> {
  constructor(readonly port: number) {}
  check(m: Readonly<Model>) { return m.queues.has(this.port); }
  async run(m: Model, r: Real) {
    await r.b.sys.close(r.fds.get(this.port)!);
    r.fds.delete(this.port);
    m.queues.delete(this.port);
  }
  toString() { return `close(${this.port})`; }
}

class Send implements fc.AsyncCommand<Model, Real> {
  constructor(readonly port: number, readonly len: number, readonly fill: number) {}
  check() { return true; }
  async run(m: Model, r: Real) {
    const data = new Uint8Array(this.len).fill(this.fill);
    expect(await r.a.sys.sendto(r.sender, data, 0, to(this.port))).toBe(this.len);
    await barrier(r);
    const q = m.queues.get(this.port);
    if (q === undefined) return; // nobody bound: dropped (port unreachable goes to an unconnected sender: unheard)
    const used = q.reduce((n, d) => n + d.length + UDP_SKB_OVERHEAD, 0);
    if (used + this.len + UDP_SKB_OVERHEAD <= RCVBUF) q.push(Array.from(data));
  }
  toString() { return `send(${this.port}, ${this.len}B of ${this.fill})`; }
}

class Recv implements fc.AsyncCommand<Model, Real> {
  constructor(readonly port: number, readonly peek: boolean, readonly bufLen: number) {}
  check(m: Readonly<Model>) { return m.queues.has(this.port); }
  async run(m: Model, r: Real) {
    const q = m.queues.get(this.port)!;
    const buf = new Uint8Array(this.bufLen);
    const p = r.b.sys.recvfrom(r.fds.get(this.port)!, buf, MSG_DONTWAIT | (this.peek ? MSG_PEEK : 0));
    if (q.length === 0) {
      await expect(p).rejects.toMatchObject({ code: 'EAGAIN' });
      return;
    }
    const want = this.peek ? q[0]! : q.shift()!;
    const [n, from] = await p;
    expect(n).toBe(Math.min(this.bufLen, want.length));
    expect(Array.from(buf.subarray(0, n))).toEqual(want.slice(0, n));
    expect(from).toMatchObject({ addr: '10.0.0.1' });
  }
  toString() { return `recv(${this.port}${this.peek ? ', PEEK' : ''}, ${this.bufLen})`; }
}

const port = fc.constantFrom(...PORTS);
const send = fc.tuple(port, fc.integer({ min: 0, max: 1600 }), fc.integer({ min: 1, max: 255 })).map(([p, l, f]) => new Send(p, l, f));
// Sends weigh three times the rest, so queues reach SO_RCVBUF often.
const commands = [
  port.map((p) => new Bind(p)),
  port.map((p) => new Close(p)),
  send, send, send,
  fc.tuple(port, fc.boolean(), fc.integer({ min: 0, max: 2000 })).map(([p, k, b]) => new Recv(p, k, b)),
];

describe('UDP model', () => {
  it('delivery, SO_RCVBUF drops, peek and truncation agree with a FIFO-per-port model', async () => {
    await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.commands(commands, { maxCommands: 60, size: 'large' }), async (seed, cmds) => {
      await onBus(2, async ([a, b]) => {
        const sender = await a!.sys.socket(AF_INET, SOCK_DGRAM, 0);
        const barrierRx = await b!.sys.socket(AF_INET, SOCK_DGRAM, 0);
        await b!.sys.bind(barrierRx, { family: AF_INET, addr: '0.0.0.0', port: 6000 });
        const real: Real = { a: a!, b: b!, sender, barrierTx: sender, barrierRx, fds: new Map() };
        await fc.asyncModelRun(() => ({ model: { queues: new Map() }, real }), cmds);
      }, { seed });
    }), { numRuns: Number(process.env.ANYKERNEL_MODEL_RUNS ?? 60) });
  });
});
