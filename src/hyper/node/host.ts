/**
 * The node host: hypercalls served by a real Node.js process.
 *
 * Real clocks (process.hrtime), crypto randomness, block devices and
 * passthrough files through node:fs, console on stdio. Network interfaces are
 * attached by a driver-specific helper (socat bridge, shared bus) given in
 * options; without one, netifCreate answers ENXIO.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import { randomFillSync } from 'node:crypto';
import { UdpNetifs, type UdpNetifSpec } from './tap.ts';
import { HYPER_VERSION, type BlockDevInfo, type HostErrno, type HostNetif, type HostStat, type Hypercalls, type TimerHandle } from '../types.ts';

const EIO = -5, ENXIO = -6, EBADF = -9, EROFS = -30;

export interface NodeHostOptions {
  /** Parameters returned by getParam; defaults come from the machine. */
  params?: Record<string, string>;
  /** Where console output goes (default: process.stdout). */
  consoleOut?: (bytes: Uint8Array) => void;
  /** Map of block device name → host path, or an in-memory image. */
  blockDevices?: Record<string, string | Uint8Array>;
  /** Netif factory for drivers that bridge to the host (TAP via socat, shared bus). */
  netif?: {
    create(name: string, deliver: (frame: Uint8Array) => void): Promise<HostNetif | HostErrno>;
    send(name: string, frame: Uint8Array): void;
    destroy(name: string): Promise<HostErrno>;
  };
  /**
   * Interfaces carried as UDP datagrams on loopback, by interface name; with
   * `tap`, the host bridges them to that TAP device through socat (tap.ts).
   */
  taps?: Record<string, UdpNetifSpec>;
  /** What panic does after printing (default: throw, so a library caller sees it). */
  onPanic?: (msg: string) => void;
  onExit?: (status: number) => void;
}

function errnoOf(e: unknown): HostErrno {
  const n = (e as { errno?: number }).errno;
  return typeof n === 'number' && n !== 0 ? -Math.abs(n) : EIO;
}

interface Blk { fd: number | null; mem: Uint8Array | null; info: BlockDevInfo }

export class NodeHost implements Hypercalls {
  readonly version = HYPER_VERSION;
  readonly hostName = 'node';
  private readonly opts: NodeHostOptions;
  private readonly wallOffsetNs: bigint;
  private timers = new Map<number, NodeJS.Timeout>();
  private nextTimer = 1;
  private blks = new Map<number, Blk>();
  private files = new Map<number, fsp.FileHandle>();
  private nextHandle = 1;
  private inputFn: ((bytes: Uint8Array) => void) | null = null;
  private stdinListener: ((b: Buffer) => void) | null = null;
  /** The UDP/TAP interfaces (taps option), if any. */
  readonly udpNetifs: UdpNetifs | null;

  constructor(opts: NodeHostOptions = {}) {
    this.opts = opts;
    this.wallOffsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
    this.udpNetifs = opts.taps ? new UdpNetifs(opts.taps) : null;
  }

  getParam(name: string): string | undefined {
    const p = this.opts.params?.[name];
    if (p !== undefined) return p;
    switch (name) {
      case 'hostname': return os.hostname();
      case 'ncpu': return String(os.availableParallelism());
      case 'memlimit': return String(os.totalmem());
      // Lock-order validation (src/kern/README.md): off in production unless
      // ANYKERNEL_LOCKDEP=on|strict|full|off asks; the test setup turns it on.
      case 'lockdep': return process.env.ANYKERNEL_LOCKDEP ?? 'off';
      default: return undefined;
    }
  }

  clockMonotonic(): bigint { return process.hrtime.bigint(); }
  clockRealtime(): bigint { return this.wallOffsetNs + process.hrtime.bigint(); }

  timerStart(deadlineNs: bigint, fn: () => void): TimerHandle {
    const id = this.nextTimer++;
    const delayMs = Number(deadlineNs - process.hrtime.bigint()) / 1e6;
    const t = setTimeout(() => { this.timers.delete(id); fn(); }, Math.max(0, Math.ceil(delayMs)));
    this.timers.set(id, t);
    return id;
  }
  timerCancel(handle: TimerHandle): void {
    const t = this.timers.get(handle);
    if (t !== undefined) { clearTimeout(t); this.timers.delete(handle); }
  }

  getRandom(buf: Uint8Array): void { randomFillSync(buf); }

  consoleWrite(bytes: Uint8Array): void {
    if (this.opts.consoleOut) this.opts.consoleOut(bytes);
    else process.stdout.write(bytes);
  }
  consoleSetInput(fn: ((bytes: Uint8Array) => void) | null): void {
    this.inputFn = fn;
    if (fn && !this.stdinListener) {
      this.stdinListener = (b: Buffer) => this.inputFn?.(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
      process.stdin.on('data', this.stdinListener);
    } else if (!fn && this.stdinListener) {
      process.stdin.off('data', this.stdinListener);
      this.stdinListener = null;
      process.stdin.pause();
    }
  }
  dprintf(msg: string): void { process.stderr.write(msg); }

  panic(msg: string): never {
    process.stderr.write(`anykernel panic: ${msg}\n`);
    this.opts.onPanic?.(msg);
    throw new Error(`kernel panic: ${msg}`);
  }
  exit(status: number): void { this.opts.onExit?.(status); }

  schedule(fn: () => void): void { queueMicrotask(fn); }

  async blkOpen(name: string, opts: { readOnly: boolean }): Promise<{ handle: number; info: BlockDevInfo } | HostErrno> {
    const src = this.opts.blockDevices?.[name] ?? name;
    try {
      let blk: Blk;
      if (typeof src === 'string') {
        const fd = fs.openSync(src, opts.readOnly ? 'r' : 'r+');
        const st = fs.fstatSync(fd);
        blk = { fd, mem: null, info: { size: st.size, sectorSize: 512, readOnly: opts.readOnly } };
      } else {
        blk = { fd: null, mem: src, info: { size: src.byteLength, sectorSize: 512, readOnly: opts.readOnly } };
      }
      const handle = this.nextHandle++;
      this.blks.set(handle, blk);
      return { handle, info: blk.info };
    } catch (e) { return errnoOf(e); }
  }
  async blkRead(handle: number, offset: number, buf: Uint8Array): Promise<HostErrno> {
    const b = this.blks.get(handle);
    if (!b) return EBADF;
    if (offset < 0 || offset + buf.byteLength > b.info.size) return EIO;
    if (b.mem) { buf.set(b.mem.subarray(offset, offset + buf.byteLength)); return 0; }
    return new Promise((res) => fs.read(b.fd!, buf, 0, buf.byteLength, offset, (e, n) => res(e ? errnoOf(e) : n === buf.byteLength ? 0 : EIO)));
  }
  async blkWrite(handle: number, offset: number, data: Uint8Array): Promise<HostErrno> {
    const b = this.blks.get(handle);
    if (!b) return EBADF;
    if (b.info.readOnly) return EROFS;
    if (offset < 0 || offset + data.byteLength > b.info.size) return EIO;
    if (b.mem) { b.mem.set(data, offset); return 0; }
    return new Promise((res) => fs.write(b.fd!, data, 0, data.byteLength, offset, (e) => res(e ? errnoOf(e) : 0)));
  }
  async blkFlush(handle: number): Promise<HostErrno> {
    const b = this.blks.get(handle);
    if (!b) return EBADF;
    if (b.mem) return 0;
    return new Promise((res) => fs.fdatasync(b.fd!, (e) => res(e ? errnoOf(e) : 0)));
  }
  async blkClose(handle: number): Promise<HostErrno> {
    const b = this.blks.get(handle);
    if (!b) return EBADF;
    this.blks.delete(handle);
    if (b.fd !== null) fs.closeSync(b.fd);
    return 0;
  }

  async hostStat(path: string): Promise<HostStat | HostErrno> {
    try {
      const st = await fsp.lstat(path, { bigint: true });
      const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
      return { type, mode: Number(st.mode), size: Number(st.size), mtimeNs: st.mtimeNs };
    } catch (e) { return errnoOf(e); }
  }
  async hostReaddir(path: string): Promise<string[] | HostErrno> {
    try { return await fsp.readdir(path); } catch (e) { return errnoOf(e); }
  }
  async hostReadlink(path: string): Promise<string | HostErrno> {
    try { return await fsp.readlink(path); } catch (e) { return errnoOf(e); }
  }
  async hostOpen(path: string, flags: { write: boolean; create: boolean; truncate: boolean }): Promise<number | HostErrno> {
    let f = flags.write ? fs.constants.O_RDWR : fs.constants.O_RDONLY;
    if (flags.create) f |= fs.constants.O_CREAT;
    if (flags.truncate) f |= fs.constants.O_TRUNC;
    try {
      const fh = await fsp.open(path, f, 0o644);
      const h = this.nextHandle++;
      this.files.set(h, fh);
      return h;
    } catch (e) { return errnoOf(e); }
  }
  async hostRead(handle: number, offset: number, buf: Uint8Array): Promise<number | HostErrno> {
    const fh = this.files.get(handle);
    if (!fh) return EBADF;
    try { return (await fh.read(buf, 0, buf.byteLength, offset)).bytesRead; } catch (e) { return errnoOf(e); }
  }
  async hostWrite(handle: number, offset: number, data: Uint8Array): Promise<number | HostErrno> {
    const fh = this.files.get(handle);
    if (!fh) return EBADF;
    try { return (await fh.write(data, 0, data.byteLength, offset)).bytesWritten; } catch (e) { return errnoOf(e); }
  }
  async hostClose(handle: number): Promise<HostErrno> {
    const fh = this.files.get(handle);
    if (!fh) return EBADF;
    this.files.delete(handle);
    await fh.close();
    return 0;
  }

  async netifCreate(name: string, deliver: (frame: Uint8Array) => void): Promise<HostNetif | HostErrno> {
    // The deliver upcall must not run inside this call: frames only arrive from socket events.
    if (this.udpNetifs?.has(name)) return this.udpNetifs.create(name, deliver);
    if (!this.opts.netif) return ENXIO;
    return this.opts.netif.create(name, deliver);
  }
  netifSend(name: string, frame: Uint8Array): void {
    if (this.udpNetifs?.has(name)) this.udpNetifs.send(name, frame);
    else this.opts.netif?.send(name, frame);
  }
  async netifDestroy(name: string): Promise<HostErrno> {
    if (this.udpNetifs?.has(name)) return this.udpNetifs.destroy(name);
    if (!this.opts.netif) return ENXIO;
    return this.opts.netif.destroy(name);
  }

  /** Release host resources (timers, stdin listener) so the process can exit. */
  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.consoleSetInput(null);
    this.udpNetifs?.killAll();
  }
}
