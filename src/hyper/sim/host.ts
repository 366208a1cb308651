/**
 * The deterministic simulation host.
 *
 * Everything a kernel can observe — clocks, timer expiry, the order of
 * runnable tasks, I/O completion, randomness, frames, console input — comes
 * from a SimWorld (virtual clock + seeded event queue, see world.ts) and from
 * rng streams split off one root seed. Nothing here reads real time or real
 * randomness, so the same seed replays the same run, hypercall for hypercall;
 * the hash log proves it.
 *
 * Every hypercall is appended to the world's hash log: sync calls as one
 * entry, async calls as an issue entry plus a "<name>:done" entry when their
 * completion event runs, upcalls as "upcall:<kind>".
 */
import {
  HYPER_VERSION, type BlockDevInfo, type HostErrno, type HostNetif, type HostStat, type Hypercalls, type TimerHandle,
} from '../types.ts';
import { SimDisk, type CrashMode } from './disk.ts';
import { FaultSet, type FaultRule, type FaultSite } from './faults.ts';
import { digest, HashLog, type Divergence, type HashLogEntry } from './hashlog.ts';
import { SimHostFs } from './hostfs.ts';
import type { SimNetwork } from './network.ts';
import type { Rng } from './rng.ts';
import { SimWorld, type RunOptions, type SimEvent } from './world.ts';

const ENXIO = -6, EBADF = -9, EROFS = -30;

/** Thrown by SimHost.panic; also rejects the running scenario. */
export class SimPanic extends Error {
  override name = 'SimPanic';
  readonly seed: bigint;
  readonly timeNs: bigint;
  constructor(msg: string, seed: bigint, timeNs: bigint, host: string) {
    super(`kernel panic on ${host} at t=${timeNs}ns [seed ${seed}]: ${msg}`);
    this.seed = seed;
    this.timeNs = timeNs;
  }
}

export interface SimHostOptions {
  /** Root seed of a new world (required unless `world` is given). */
  seed?: number | bigint;
  /** Join an existing world (shared clock, queue and hash log) instead. */
  world?: SimWorld;
  /** Host name in logs and rng streams (default "sim"; must be unique in a world). */
  name?: string;
  /** getParam values; defaults: hostname = name, ncpu = "1", memlimit = 256 MiB. */
  params?: Record<string, string>;
  /** clockRealtime() = realtimeEpochNs + clockMonotonic() (default 2023-11-14T22:13:20Z). */
  realtimeEpochNs?: bigint;
  /** Base latency of every block operation (default 0: completes at the current instant, still as an event). */
  blkLatencyNs?: bigint | number;
  /** Base latency of host-file operations (default 0). */
  hostFileLatencyNs?: bigint | number;
  /** Also pass console output here (e.g. to process.stdout for debugging). */
  consoleEcho?: (bytes: Uint8Array) => void;
  /** Also pass dprintf here. */
  dprintfEcho?: (msg: string) => void;
  /** Keep hash-log entries (default true; the hash is always kept). Only for a new world. */
  keepLog?: boolean;
  /** Initial fault rules (see faults.ts for sites). */
  faults?: Partial<Record<FaultSite, FaultRule>>;
}

interface BlkHandle { disk: SimDisk; readOnly: boolean }

export class SimHost implements Hypercalls {
  readonly version = HYPER_VERSION;
  readonly hostName = 'sim';
  readonly world: SimWorld;
  /** This host's name in the world (logs, rng streams, event ownership). */
  readonly name: string;
  readonly faults: FaultSet;
  /** Exit statuses the kernel reported, in order. */
  readonly exits: number[] = [];
  /** Panics the kernel raised, in order. */
  readonly panics: SimPanic[] = [];

  private readonly opts: SimHostOptions;
  private readonly rngPrefix: string;
  private readonly random: Rng;
  private readonly crashRng: Rng;
  private readonly epochNs: bigint;
  private readonly blkLatency: bigint;
  private readonly fileLatency: bigint;
  private readonly disks = new Map<string, SimDisk>();
  private readonly blks = new Map<number, BlkHandle>();
  private nextBlk = 1;
  private readonly timers = new Map<number, SimEvent>();
  private nextTimer = 1;
  private nextTask = 1;
  private readonly files = new SimHostFs();
  private consoleOut: Uint8Array[] = [];
  private debugOut: string[] = [];
  private inputFn: ((bytes: Uint8Array) => void) | null = null;
  private inputBacklog: Uint8Array[] = [];
  private readonly networks: { net: SimNetwork; names: Set<string> | null }[] = [];
  private readonly netifs = new Map<string, SimNetwork>();

  constructor(opts: SimHostOptions) {
    this.opts = opts;
    if (opts.world) {
      this.world = opts.world;
      this.name = opts.name ?? `sim${this.world.hostNames.size}`;
      this.rngPrefix = `${this.name}/`;
    } else {
      if (opts.seed === undefined) throw new Error('SimHost needs { seed } (or { world } to join an existing simulation)');
      this.world = new SimWorld({ seed: opts.seed, keepLog: opts.keepLog ?? true });
      this.name = opts.name ?? 'sim';
      this.rngPrefix = '';
    }
    if (this.world.hostNames.has(this.name)) throw new Error(`SimHost name ${this.name} is already used in this world`);
    this.world.hostNames.add(this.name);
    this.random = this.rng('random');
    this.crashRng = this.rng('crash');
    this.faults = new FaultSet(this.rng('faults'), opts.faults);
    this.epochNs = opts.realtimeEpochNs ?? 1_700_000_000_000_000_000n;
    this.blkLatency = BigInt(opts.blkLatencyNs ?? 0);
    this.fileLatency = BigInt(opts.hostFileLatencyNs ?? 0);
  }

  // ---- simulation control (not hypercalls) -------------------------------
  get seed(): bigint { return this.world.seed; }
  /** Virtual monotonic time in ns. */
  get now(): bigint { return this.world.now; }
  /** The seeded generator for subsystem `name` of this host. */
  rng(name: string): Rng { return this.world.rng(this.rngPrefix + name); }
  pending(): number { return this.world.pending(); }
  idle(): Promise<void> { return this.world.idle(); }
  run<T>(scenario: () => Promise<T> | T, opts?: RunOptions): Promise<T> { return this.world.run(scenario, opts); }
  advance(ns: bigint | number): Promise<void> { return this.world.advance(ns); }
  /** Await host work the simulation does not model inside run() (see SimWorld.outside); boot() loads components this way. */
  outside<T>(work: Promise<T>): Promise<T> { return this.world.outside(work); }
  /** Resolve after `ns` of virtual time (a test-side wait, not a hypercall; not logged). */
  sleep(ns: bigint | number): Promise<void> { return this.world.sleep(ns, this.name); }
  dispose(): void { this.world.dispose(); }
  hashLog(): readonly HashLogEntry[] { return this.world.log.entries(); }
  hash(): string { return this.world.log.hash(); }
  static firstDivergence(a: readonly HashLogEntry[], b: readonly HashLogEntry[]): Divergence | null {
    return HashLog.firstDivergence(a, b);
  }

  /** Add a block device: a zeroed one of `size` bytes, or a copy of an image. */
  addDisk(name: string, sizeOrImage: number | Uint8Array, opts?: { sectorSize?: number; readOnly?: boolean }): SimDisk {
    if (this.disks.has(name)) throw new Error(`disk ${name} already exists on ${this.name}`);
    const d = new SimDisk(name, sizeOrImage, opts);
    this.disks.set(name, d);
    return d;
  }
  disk(name: string): SimDisk {
    const d = this.disks.get(name);
    if (!d) throw new Error(`no disk ${name} on ${this.name}`);
    return d;
  }
  /** The durable bytes of a disk (what survives crash()). */
  diskImage(name: string): Uint8Array { return this.disk(name).image(); }

  /**
   * The machine loses power: every disk drops its unflushed writes (or keeps
   * some, per `keep`, see disk.ts), all of this host's queued events (timers,
   * tasks, I/O completions, frames in flight to it, scripted console input
   * not yet delivered) vanish, handles close and
   * interfaces detach. Promises of hypercalls in flight never settle: stop
   * using the old kernel and boot a new one on this host. Returns the number
   * of writes dropped.
   */
  crash(opts: { keep?: CrashMode } = {}): number {
    let dropped = 0;
    for (const d of this.disks.values()) dropped += d.crash(opts.keep ?? 'none', this.crashRng);
    const cancelled = this.world.cancelOwner(this.name);
    this.timers.clear();
    this.blks.clear();
    this.files.closeAll();
    this.inputFn = null;
    this.inputBacklog = [];
    for (const n of this.networks) n.net.leaveAll(this);
    this.netifs.clear();
    this.log('crash', `${opts.keep ?? 'none'}`, `dropped=${dropped},cancelled=${cancelled}`);
    return dropped;
  }

  /** Script console input: delivered as an upcall at absolute virtual time `atNs` (default now). */
  consoleInput(data: Uint8Array | string, atNs?: bigint | number): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data.slice();
    this.world.enqueue(atNs === undefined ? this.world.now : BigInt(atNs), () => this.deliverInput(bytes), this.name);
  }
  /** Everything the kernel wrote to the console, decoded as UTF-8. */
  consoleOutput(): string { return new TextDecoder().decode(this.consoleOutputBytes()); }
  consoleOutputBytes(): Uint8Array {
    const n = this.consoleOut.reduce((a, b) => a + b.byteLength, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.consoleOut) { out.set(c, o); o += c.byteLength; }
    this.consoleOut = [out];
    return out.slice();
  }
  /** Everything passed to dprintf. */
  debugOutput(): string { return this.debugOut.join(''); }

  addHostFile(path: string, bytes: Uint8Array | string, opts: { mtimeNs?: bigint; mode?: number } = {}): void {
    this.files.addFile(path, bytes, opts.mtimeNs ?? 0n, opts.mode);
  }
  addHostDir(path: string): void { this.files.addDir(path); }
  addHostSymlink(path: string, target: string): void { this.files.addSymlink(path, target); }
  /** Current bytes of a host file (e.g. after the kernel wrote through etfs). */
  hostFile(path: string): Uint8Array | undefined { return this.files.fileBytes(path); }

  /** @internal used by SimNetwork.attach. */
  attachNetwork(net: SimNetwork, names: Set<string> | null): void { this.networks.push({ net, names }); }
  /** @internal used by SimNetwork to deliver a frame. */
  upcallDeliver(ifname: string, deliver: (frame: Uint8Array) => void, frame: Uint8Array): void {
    this.log('upcall:deliver', `"${ifname}",${digest(frame)}`, '');
    deliver(frame);
  }

  // ---- logging -----------------------------------------------------------
  private log(call: string, args: string, result: string): void {
    this.world.log.append(this.world.now, this.name, call, args, result);
  }
  /** Complete an async hypercall as an event after `delay`; logs issue and completion. */
  private later<T>(call: string, args: string, delay: bigint, work: () => T, filled?: Uint8Array): Promise<T> {
    this.log(call, args, '…');
    return new Promise<T>((resolve) => {
      this.world.enqueue(this.world.now + delay, () => {
        const r = work();
        // For reads, the bytes handed to the kernel are part of the result.
        this.log(`${call}:done`, args, filled && typeof r === 'number' && r >= 0 ? `${digest(r)};${digest(filled)}` : digest(r));
        resolve(r);
      }, this.name);
    });
  }

  // ---- parameters ----------------------------------------------------------
  getParam(name: string): string | undefined {
    const p = this.opts.params?.[name];
    const r = p !== undefined ? p
      : name === 'hostname' ? this.name
      : name === 'ncpu' ? '1'
      : name === 'memlimit' ? String(256 * 1024 * 1024)
      : undefined;
    this.log('getParam', digest(name), digest(r));
    return r;
  }

  // ---- clocks and timers ---------------------------------------------------
  clockMonotonic(): bigint {
    this.log('clockMonotonic', '', '');
    return this.world.now;
  }
  clockRealtime(): bigint {
    this.log('clockRealtime', '', '');
    return this.epochNs + this.world.now;
  }
  timerStart(deadlineNs: bigint, fn: () => void): TimerHandle {
    const h = this.nextTimer++;
    const ev = this.world.enqueue(deadlineNs, () => {
      this.timers.delete(h);
      this.log('upcall:timer', String(h), '');
      fn();
    }, this.name);
    this.timers.set(h, ev);
    this.log('timerStart', `${deadlineNs}n`, String(h));
    return h;
  }
  timerCancel(handle: TimerHandle): void {
    const ev = this.timers.get(handle);
    if (ev) { this.world.cancel(ev); this.timers.delete(handle); }
    this.log('timerCancel', String(handle), ev ? 'cancelled' : 'gone');
  }

  // ---- randomness ----------------------------------------------------------
  getRandom(buf: Uint8Array): void {
    this.random.fill(buf);
    this.log('getRandom', String(buf.byteLength), digest(buf));
  }

  // ---- console -------------------------------------------------------------
  consoleWrite(bytes: Uint8Array): void {
    const copy = bytes.slice();
    this.consoleOut.push(copy);
    this.log('consoleWrite', digest(copy), '');
    this.opts.consoleEcho?.(copy);
  }
  consoleSetInput(fn: ((bytes: Uint8Array) => void) | null): void {
    this.inputFn = fn;
    this.log('consoleSetInput', fn ? 'fn' : 'null', '');
    if (fn && this.inputBacklog.length > 0) {
      const backlog = this.inputBacklog.splice(0);
      for (const b of backlog) this.world.enqueue(this.world.now, () => this.deliverInput(b), this.name);
    }
  }
  private deliverInput(bytes: Uint8Array): void {
    if (!this.inputFn) { this.inputBacklog.push(bytes); return; }
    this.log('upcall:console', digest(bytes), '');
    this.inputFn(bytes);
  }
  dprintf(msg: string): void {
    this.debugOut.push(msg);
    this.log('dprintf', digest(msg), '');
    this.opts.dprintfEcho?.(msg);
  }

  // ---- panic / exit --------------------------------------------------------
  panic(msg: string): never {
    const err = new SimPanic(msg, this.world.seed, this.world.now, this.name);
    this.panics.push(err);
    this.log('panic', digest(msg), '');
    this.world.fail(err);
    throw err;
  }
  exit(status: number): void {
    this.exits.push(status);
    this.log('exit', String(status), '');
  }

  // ---- task scheduling -----------------------------------------------------
  schedule(fn: () => void): void {
    const id = this.nextTask++;
    this.log('schedule', String(id), '');
    this.world.enqueue(this.world.now, () => {
      this.log('upcall:task', String(id), '');
      fn();
    }, this.name);
  }

  // ---- block devices -------------------------------------------------------
  blkOpen(name: string, opts: { readOnly: boolean }): Promise<{ handle: number; info: BlockDevInfo } | HostErrno> {
    const fault = this.faults.errno('blk.open');
    const delay = this.blkLatency + this.faults.latency('blk.latency');
    return this.later('blkOpen', `${digest(name)},${opts.readOnly}`, delay, () => {
      if (fault) return fault;
      const disk = this.disks.get(name);
      if (!disk) return ENXIO;
      if (!opts.readOnly && disk.readOnly) return EROFS;
      const handle = this.nextBlk++;
      this.blks.set(handle, { disk, readOnly: opts.readOnly });
      return { handle, info: disk.info(opts.readOnly) };
    });
  }
  blkRead(handle: number, offset: number, buf: Uint8Array): Promise<HostErrno> {
    const fault = this.faults.errno('blk.read');
    const delay = this.blkLatency + this.faults.latency('blk.latency');
    return this.later('blkRead', `${handle},${offset},${buf.byteLength}`, delay, () => {
      const b = this.blks.get(handle);
      if (!b) return EBADF;
      const bad = b.disk.check(offset, buf.byteLength);
      if (bad) return bad;
      if (fault) return fault;
      b.disk.read(offset, buf);
      return 0;
    }, buf);
  }
  blkWrite(handle: number, offset: number, data: Uint8Array): Promise<HostErrno> {
    const fault = this.faults.errno('blk.write');
    const delay = this.blkLatency + this.faults.latency('blk.latency');
    const copy = data.slice();
    return this.later('blkWrite', `${handle},${offset},${digest(copy)}`, delay, () => {
      const b = this.blks.get(handle);
      if (!b) return EBADF;
      if (b.readOnly) return EROFS;
      const bad = b.disk.check(offset, copy.byteLength);
      if (bad) return bad;
      if (fault) return fault;
      b.disk.write(offset, copy);
      return 0;
    });
  }
  blkFlush(handle: number): Promise<HostErrno> {
    const fault = this.faults.errno('blk.flush');
    const delay = this.blkLatency + this.faults.latency('blk.latency');
    return this.later('blkFlush', String(handle), delay, () => {
      const b = this.blks.get(handle);
      if (!b) return EBADF;
      if (fault) return fault;
      b.disk.flush();
      return 0;
    });
  }
  blkClose(handle: number): Promise<HostErrno> {
    return this.later('blkClose', String(handle), 0n, () => (this.blks.delete(handle) ? 0 : EBADF));
  }

  // ---- host files (etfs) ---------------------------------------------------
  private fileDelay(): bigint { return this.fileLatency + this.faults.latency('host.latency'); }
  hostStat(path: string): Promise<HostStat | HostErrno> {
    const fault = this.faults.errno('host.stat');
    return this.later('hostStat', digest(path), this.fileDelay(), () => fault || this.files.stat(path));
  }
  hostReaddir(path: string): Promise<string[] | HostErrno> {
    return this.later('hostReaddir', digest(path), this.fileDelay(), () => this.files.readdir(path));
  }
  hostReadlink(path: string): Promise<string | HostErrno> {
    return this.later('hostReadlink', digest(path), this.fileDelay(), () => this.files.readlink(path));
  }
  hostOpen(path: string, flags: { write: boolean; create: boolean; truncate: boolean }): Promise<number | HostErrno> {
    const fault = this.faults.errno('host.open');
    return this.later('hostOpen', `${digest(path)},${digest(flags)}`, this.fileDelay(),
      () => fault || this.files.openFile(path, flags, this.world.now));
  }
  hostRead(handle: number, offset: number, buf: Uint8Array): Promise<number | HostErrno> {
    const fault = this.faults.errno('host.read');
    return this.later('hostRead', `${handle},${offset},${buf.byteLength}`, this.fileDelay(), () => {
      if (fault) return fault;
      return this.files.read(handle, offset, buf);
    }, buf);
  }
  hostWrite(handle: number, offset: number, data: Uint8Array): Promise<number | HostErrno> {
    const fault = this.faults.errno('host.write');
    const copy = data.slice();
    return this.later('hostWrite', `${handle},${offset},${digest(copy)}`, this.fileDelay(),
      () => fault || this.files.write(handle, offset, copy, this.world.now));
  }
  hostClose(handle: number): Promise<HostErrno> {
    return this.later('hostClose', String(handle), 0n, () => this.files.close(handle));
  }

  // ---- network interfaces --------------------------------------------------
  netifCreate(name: string, deliver: (frame: Uint8Array) => void): Promise<HostNetif | HostErrno> {
    const fault = this.faults.errno('net.create');
    return this.later('netifCreate', digest(name), 0n, () => {
      if (fault) return fault;
      if (this.netifs.has(name)) return -17; // EEXIST
      const n = this.networks.find((x) => x.names === null || x.names.has(name));
      if (!n) return ENXIO;
      const r = n.net.join(this, name, deliver);
      if (typeof r !== 'number') this.netifs.set(name, n.net);
      return r;
    });
  }
  netifSend(name: string, frame: Uint8Array): void {
    const copy = frame.slice();
    this.log('netifSend', `${digest(name)},${digest(copy)}`, '');
    this.netifs.get(name)?.send(this, name, copy);
  }
  netifDestroy(name: string): Promise<HostErrno> {
    return this.later('netifDestroy', digest(name), 0n, () => {
      const net = this.netifs.get(name);
      if (!net) return ENXIO;
      this.netifs.delete(name);
      return net.leave(this, name);
    });
  }
}
