/**
 * The hypercall interface: everything the kernel needs from whatever it runs on.
 *
 * Modelled on NetBSD's rumpuser(3): one small, versioned interface grouped by
 * concern. Kernel code (src/kern, src/vfs, src/net, src/dev) reaches the host
 * only through an object of this type, which hangs off its `Kernel`; that is
 * what lets the same kernel run on Node, in a deterministic simulation, or in
 * a browser.
 *
 * Blocking rule (the rumpuser "may block" column): a method that returns a
 * Promise MAY SUSPEND the calling kernel thread; every other method returns
 * without suspending and must not call back into the kernel synchronously.
 * Upcalls (timer expiry, frame delivery, console input, scheduled tasks) are
 * always delivered later, from the host's own turn, never from inside the
 * hypercall that armed them.
 */

export const HYPER_VERSION = 1;

/** Opaque handle for an armed timer. */
export type TimerHandle = number;

/** A block device as the host presents it. */
export interface BlockDevInfo {
  /** Size in bytes (a multiple of sectorSize). */
  readonly size: number;
  /** Smallest addressable unit; reads and writes are multiples of it. */
  readonly sectorSize: number;
  readonly readOnly: boolean;
}

/**
 * A failed host I/O: a NEGATIVE Linux errno (-5 for EIO), as in Linux's own
 * kernel convention. Numeric results are >= 0 on success; object results are
 * the object on success and a negative number on failure.
 */
export type HostErrno = number;

export interface HostStat {
  readonly type: 'file' | 'dir' | 'symlink' | 'other';
  readonly mode: number;
  readonly size: number;
  readonly mtimeNs: bigint;
}

/** A network interface the host attached for the kernel (rump's virtif). */
export interface HostNetif {
  readonly name: string;
  readonly mtu: number;
  readonly mac: Uint8Array;
}

export interface Hypercalls {
  readonly version: typeof HYPER_VERSION;
  /** Short name of the host implementation ("node", "sim", ...). */
  readonly hostName: string;

  // ---- parameters (never suspend) -----------------------------------------
  /** Host parameters: "hostname", "ncpu", "memlimit" (bytes), others host-defined. */
  getParam(name: string): string | undefined;

  // ---- clocks and timers (never suspend) ----------------------------------
  /** Monotonic clock in nanoseconds since an arbitrary origin. */
  clockMonotonic(): bigint;
  /** Wall clock in nanoseconds since the Unix epoch. */
  clockRealtime(): bigint;
  /** Arm a one-shot timer at an absolute monotonic deadline; fn runs as an upcall. */
  timerStart(deadlineNs: bigint, fn: () => void): TimerHandle;
  /** Disarm; harmless if already fired or cancelled. */
  timerCancel(handle: TimerHandle): void;

  // ---- randomness (never suspends) ----------------------------------------
  /** Fill buf with random bytes (crypto quality on real hosts, seeded on sim). */
  getRandom(buf: Uint8Array): void;

  // ---- console (never suspend) --------------------------------------------
  /** Write bytes to the console output. */
  consoleWrite(bytes: Uint8Array): void;
  /** Install the upcall that receives console input; null detaches. */
  consoleSetInput(fn: ((bytes: Uint8Array) => void) | null): void;
  /** Debug print that bypasses all kernel locking (rumpuser_dprintf). */
  dprintf(msg: string): void;

  // ---- panic / exit --------------------------------------------------------
  /** The kernel found a broken invariant. Never returns. */
  panic(msg: string): never;
  /** The kernel halted with this status (the host decides what that means). */
  exit(status: number): void;

  // ---- task scheduling (never suspends) -----------------------------------
  /**
   * Run fn soon, as an upcall, after the current kernel work has yielded.
   * This is how a kernel thread made runnable by wakeup() gets the CPU: the
   * host picks the order of runnable tasks (FIFO on node, seeded on sim).
   */
  schedule(fn: () => void): void;

  // ---- block devices (may suspend) ----------------------------------------
  blkOpen(name: string, opts: { readOnly: boolean }): Promise<{ handle: number; info: BlockDevInfo } | HostErrno>;
  blkRead(handle: number, offset: number, buf: Uint8Array): Promise<HostErrno>;
  blkWrite(handle: number, offset: number, data: Uint8Array): Promise<HostErrno>;
  /** Make earlier completed writes durable (a crash may drop unflushed ones). */
  blkFlush(handle: number): Promise<HostErrno>;
  blkClose(handle: number): Promise<HostErrno>;

  // ---- host files for passthrough, rump's etfs (may suspend) --------------
  hostStat(path: string): Promise<HostStat | HostErrno>;
  hostReaddir(path: string): Promise<string[] | HostErrno>;
  hostReadlink(path: string): Promise<string | HostErrno>;
  hostOpen(path: string, flags: { write: boolean; create: boolean; truncate: boolean }): Promise<number | HostErrno>;
  hostRead(handle: number, offset: number, buf: Uint8Array): Promise<number | HostErrno>;
  hostWrite(handle: number, offset: number, data: Uint8Array): Promise<number | HostErrno>;
  hostClose(handle: number): Promise<HostErrno>;

  // ---- network interfaces, rump's virtif ----------------------------------
  /** Attach a host interface; frames from the wire arrive through deliver(). */
  netifCreate(name: string, deliver: (frame: Uint8Array) => void): Promise<HostNetif | HostErrno>;
  /** Queue one Ethernet frame for the wire (never suspends; drops when full). */
  netifSend(name: string, frame: Uint8Array): void;
  netifDestroy(name: string): Promise<HostErrno>;
}
