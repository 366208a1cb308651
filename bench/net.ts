/**
 * TCP benchmarks (`npm run bench net`): two kernels in one process on an
 * EtherBus, through the socket system calls — bulk transfer at MTU 1500 and
 * 65535, 1-byte request/response latency, connections per second — each
 * beside Node's own `net` over 127.0.0.1 measured in the same run (the
 * ceiling). ANYKERNEL_BENCH_MB sets the bulk size (default 32 MiB).
 */
import * as net from 'node:net';
import { once } from 'node:events';
import { boot } from '../src/entry/index.node.ts';
import { createNet, EtherBus } from '../src/frontends/library/net.ts';
import { AF_INET, SOCK_STREAM, SOL_TCP, TCP_NODELAY } from '../src/net/index.ts';
import { type Row, fmtNs, printTable } from './lib.ts';

const MB = Number(process.env.ANYKERNEL_BENCH_MB ?? 32);
const BULK = MB << 20;
const CHUNK = 1 << 20;
const RR = 2000;
const CONNS = 300;

type Sys = Record<string, (...a: unknown[]) => Promise<unknown>>;
const A = (addr: string, port: number) => ({ family: AF_INET, addr, port });

async function pair(mtu: number): Promise<{ a: Sys; b: Sys; shutdown: () => Promise<void>; netA: ReturnType<typeof createNet>; netB: ReturnType<typeof createNet> }> {
  const bus = new EtherBus({ mtu });
  const ka = await boot({ net: { eth0: { bus, addr: '10.0.0.1/24', mtu } } });
  const kb = await boot({ net: { eth0: { bus, addr: '10.0.0.2/24', mtu } } });
  return {
    a: ka.sys as unknown as Sys,
    b: kb.sys as unknown as Sys,
    netA: createNet(ka),
    netB: createNet(kb),
    shutdown: async () => {
      await kb.shutdown();
      await ka.shutdown();
    },
  };
}

/** A connected pair of descriptors: client on b, server side on a. */
async function connected(a: Sys, b: Sys, port: number, nodelay: boolean): Promise<{ l: number; s: number; c: number }> {
  const l = (await a.socket!(AF_INET, SOCK_STREAM, 0)) as number;
  await a.bind!(l, A('0.0.0.0', port));
  await a.listen!(l, 128);
  const c = (await b.socket!(AF_INET, SOCK_STREAM, 0)) as number;
  if (nodelay) await b.setsockopt!(c, SOL_TCP, TCP_NODELAY, 1);
  const acc = a.accept!(l) as Promise<number>;
  await b.connect!(c, A('10.0.0.1', port));
  const s = await acc;
  if (nodelay) await a.setsockopt!(s, SOL_TCP, TCP_NODELAY, 1);
  return { l, s, c };
}

async function kernelBulk(mtu: number): Promise<number> {
  const { a, b, shutdown } = await pair(mtu);
  const { l, s, c } = await connected(a, b, 5001, false);
  const data = new Uint8Array(CHUNK);
  const buf = new Uint8Array(256 * 1024);
  const t0 = process.hrtime.bigint();
  const reader = (async () => {
    let got = 0;
    while (got < BULK) {
      const [n] = (await a.recvfrom!(s, buf)) as [number];
      if (n === 0) break;
      got += n;
    }
    return got;
  })();
  for (let sent = 0; sent < BULK; sent += CHUNK) await b.send!(c, data);
  const got = await reader;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (got !== BULK) throw new Error(`bulk: received ${got} of ${BULK}`);
  for (const fd of [c]) await b.close!(fd);
  for (const fd of [s, l]) await a.close!(fd);
  await shutdown();
  return BULK / secs;
}

async function nodeBulk(): Promise<number> {
  let got = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const server = net.createServer((s) => {
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= BULK) done();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const c = net.connect(port, '127.0.0.1');
  await once(c, 'connect');
  const data = Buffer.alloc(CHUNK);
  const t0 = process.hrtime.bigint();
  for (let sent = 0; sent < BULK; sent += CHUNK) {
    if (!c.write(data)) await once(c, 'drain');
  }
  await finished;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  c.destroy();
  server.close();
  return BULK / secs;
}

async function kernelRr(): Promise<number> {
  const { a, b, shutdown } = await pair(1500);
  const { l, s, c } = await connected(a, b, 5002, true);
  const one = new Uint8Array(1);
  const bufA = new Uint8Array(1);
  const bufB = new Uint8Array(1);
  const echo = (async () => {
    for (;;) {
      const [n] = (await a.recvfrom!(s, bufA)) as [number];
      if (n === 0) return;
      await a.send!(s, bufA);
    }
  })();
  const rt = async (): Promise<void> => {
    await b.send!(c, one);
    await b.recvfrom!(c, bufB);
  };
  for (let i = 0; i < 200; i++) await rt();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < RR; i++) await rt();
  const ns = Number(process.hrtime.bigint() - t0) / RR;
  await b.close!(c);
  await echo;
  await a.close!(s);
  await a.close!(l);
  await shutdown();
  return ns;
}

async function nodeRr(): Promise<number> {
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d) => s.write(d));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const c = net.connect(port, '127.0.0.1');
  c.setNoDelay(true);
  await once(c, 'connect');
  let wake: (() => void) | null = null;
  c.on('data', () => {
    const w = wake;
    wake = null;
    w?.();
  });
  const one = Buffer.from([1]);
  const rt = (): Promise<void> => new Promise((r) => {
    wake = r;
    c.write(one);
  });
  for (let i = 0; i < 200; i++) await rt();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < RR; i++) await rt();
  const ns = Number(process.hrtime.bigint() - t0) / RR;
  c.destroy();
  server.close();
  return ns;
}

async function kernelConns(): Promise<number> {
  const { a, b, shutdown } = await pair(1500);
  const l = (await a.socket!(AF_INET, SOCK_STREAM, 0)) as number;
  await a.bind!(l, A('0.0.0.0', 5003));
  await a.listen!(l, 1024);
  const acceptor = (async () => {
    for (let i = 0; i < CONNS; i++) {
      const s = (await a.accept!(l)) as number;
      await a.close!(s);
    }
  })();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CONNS; i++) {
    const c = (await b.socket!(AF_INET, SOCK_STREAM, 0)) as number;
    await b.connect!(c, A('10.0.0.1', 5003));
    await b.close!(c);
  }
  await acceptor;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await a.close!(l);
  await shutdown();
  return CONNS / secs;
}

async function nodeConns(): Promise<number> {
  const server = net.createServer((s) => s.destroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CONNS; i++) {
    const c = net.connect(port, '127.0.0.1');
    await once(c, 'connect');
    c.destroy();
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  server.close();
  return CONNS / secs;
}

const mbps = (bps: number): string => `${((bps * 8) / 1e6).toFixed(0)} Mbit/s`;

export async function run(): Promise<void> {
  const rows: Row[] = [];
  const nb = await nodeBulk();
  const k1500 = await kernelBulk(1500);
  const k65535 = await kernelBulk(65535);
  rows.push({ name: `node:net bulk over 127.0.0.1 (${MB} MiB)`, rate: nb / 2 ** 20, unit: 'MiB/s', note: mbps(nb) });
  rows.push({ name: 'kernel TCP bulk, EtherBus MTU 1500', rate: k1500 / 2 ** 20, unit: 'MiB/s', note: `${mbps(k1500)}, ${(k1500 / nb).toFixed(2)}x node (goal >= 0.5)` });
  rows.push({ name: 'kernel TCP bulk, EtherBus MTU 65535', rate: k65535 / 2 ** 20, unit: 'MiB/s', note: `${mbps(k65535)}, ${(k65535 / nb).toFixed(2)}x node (goal >= 0.5)` });
  const nr = await nodeRr();
  const kr = await kernelRr();
  rows.push({ name: 'node:net 1-byte request/response', nsPerOp: nr });
  rows.push({ name: 'kernel TCP 1-byte request/response', nsPerOp: kr, note: `${(kr / nr).toFixed(2)}x node's time (goal <= 2)` });
  const nc = await nodeConns();
  const kc = await kernelConns();
  rows.push({ name: 'node:net connect+accept+close', rate: nc, unit: 'conn/s' });
  rows.push({ name: 'kernel TCP connect+accept+close', rate: kc, unit: 'conn/s', note: `${(kc / nc).toFixed(2)}x node` });
  printTable('TCP: two kernels on an EtherBus vs node:net on 127.0.0.1 (shared machine: indicative only)', rows);
  void fmtNs;
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
