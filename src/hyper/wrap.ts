/**
 * Host wrappers: middlewares that take ANY Hypercalls object and are one
 * themselves, so they compose (`withTrace(withFaults(new NodeHost(), …), log)`)
 * — like smoltcp's phy::{FaultInjector, Tracer} around any device.
 *
 *   withFaults(host, rules, rng)  inject errors, latency, frame loss/dup at named sites
 *   withTrace(host, sink)         report every call with its (awaited) result
 *   withRecord(host)              keep an ordered log of calls, results and upcalls
 *
 * Each wrapper delegates explicitly with the inner host as `this`; upcall
 * functions (timer fns, deliver fns, console input, scheduled tasks) pass
 * through — withTrace and withRecord wrap them only to observe them. A wrapper
 * keeps the inner host's `version` and `hostName`; host-specific extras
 * (SimHost.crash, NodeHost.dispose) stay on the inner object.
 */
import { FaultSet, type FaultRule, type FaultSite } from './sim/faults.ts';
import { splitRng, type Rng } from './sim/rng.ts';
import type { Hypercalls } from './types.ts';

/** Every method of Hypercalls, for generic wrappers. */
export const HYPERCALL_NAMES = [
  'getParam', 'clockMonotonic', 'clockRealtime', 'timerStart', 'timerCancel', 'getRandom',
  'consoleWrite', 'consoleSetInput', 'dprintf', 'panic', 'exit', 'schedule',
  'blkOpen', 'blkRead', 'blkWrite', 'blkFlush', 'blkClose',
  'hostStat', 'hostReaddir', 'hostReadlink', 'hostOpen', 'hostRead', 'hostWrite', 'hostClose',
  'netifCreate', 'netifSend', 'netifDestroy',
] as const;
export type HypercallName = (typeof HYPERCALL_NAMES)[number];

// Compile-time check that the list above names every method of Hypercalls.
type MethodNames<T> = { [K in keyof T]: T[K] extends (...a: never[]) => unknown ? K : never }[keyof T];
const exhaustive: [Exclude<MethodNames<Hypercalls>, HypercallName>] extends [never] ? true : false = true;
void exhaustive;

type AnyFn = (...args: unknown[]) => unknown;

/**
 * Build a Hypercalls whose every method is `around(name, args, call)`, where
 * `call(args)` invokes the inner host's method with the inner host as `this`.
 */
function wrapEach(host: Hypercalls, around: (name: HypercallName, args: unknown[], call: (args: unknown[]) => unknown) => unknown): Hypercalls {
  const out: Record<string, unknown> = { version: host.version, hostName: host.hostName };
  for (const name of HYPERCALL_NAMES) {
    const fn = host[name] as unknown as AnyFn;
    const call = (args: unknown[]): unknown => fn.apply(host, args);
    out[name] = (...args: unknown[]): unknown => around(name, args, call);
  }
  // Not a hypercall: a simulation host's hold on its clock for unmodelled host
  // work (SimWorld.outside), which boot() looks for. Passed through untouched.
  const outside = (host as { outside?: AnyFn }).outside;
  if (typeof outside === 'function') out.outside = (...args: unknown[]): unknown => outside.apply(host, args);
  return out as unknown as Hypercalls;
}

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

// ---- withTrace ---------------------------------------------------------------

/** What a trace sink receives as `result` when a call threw (panic does). */
export class Thrown {
  readonly error: unknown;
  constructor(error: unknown) { this.error = error; }
}

/**
 * name: the hypercall ("blkRead"), or "<hypercall>:upcall" when an upcall
 * armed by that hypercall runs (then args are the upcall's arguments and
 * result is undefined). For async hypercalls the sink runs when the promise
 * settles, with the resolved value.
 */
export type TraceSink = (name: string, args: readonly unknown[], result: unknown) => void;

/** Wrap every function argument so that calling it first tells `onUpcall`. */
function observeUpcalls(args: unknown[], onUpcall: (upcallArgs: unknown[]) => void): unknown[] {
  return args.map((a) => typeof a === 'function'
    ? (...ua: unknown[]): unknown => { onUpcall(ua); return (a as AnyFn)(...ua); }
    : a);
}

export function withTrace(host: Hypercalls, sink: TraceSink): Hypercalls {
  return wrapEach(host, (name, args, call) => {
    const passed = observeUpcalls(args, (ua) => sink(`${name}:upcall`, ua, undefined));
    let r: unknown;
    try {
      r = call(passed);
    } catch (e) {
      sink(name, args, new Thrown(e));
      throw e;
    }
    if (isPromise(r)) {
      return r.then((v) => { sink(name, args, v); return v; }, (e: unknown) => { sink(name, args, new Thrown(e)); throw e; });
    }
    sink(name, args, r);
    return r;
  });
}

// ---- withRecord --------------------------------------------------------------

export type RecordEntry =
  | { kind: 'call'; id: number; name: HypercallName; args: unknown[] }
  /** `data`: for blkRead/hostRead, a copy of the buffer the call filled. */
  | { kind: 'result'; id: number; name: HypercallName; result: unknown; data?: Uint8Array }
  | { kind: 'upcall'; id: number; name: HypercallName; args: unknown[] };

const snapshot = (args: readonly unknown[]): unknown[] => args.map((a) => (a instanceof Uint8Array ? a.slice() : a));

/**
 * Record every call (args snapshotted: byte arrays copied), its result when
 * it completes, and every upcall (with the id of the call that armed it), in
 * the order they happen.
 */
export function withRecord(host: Hypercalls): { host: Hypercalls; log: RecordEntry[] } {
  const log: RecordEntry[] = [];
  let nextId = 1;
  const wrapped = wrapEach(host, (name, args, call) => {
    const id = nextId++;
    log.push({ kind: 'call', id, name, args: snapshot(args) });
    const passed = observeUpcalls(args, (ua) => log.push({ kind: 'upcall', id, name, args: snapshot(ua) }));
    const done = (result: unknown): void => {
      const out = name === 'blkRead' || name === 'hostRead' ? (args[2] as Uint8Array).slice() : undefined;
      log.push(out ? { kind: 'result', id, name, result, data: out } : { kind: 'result', id, name, result });
    };
    let r: unknown;
    try {
      r = call(passed);
    } catch (e) {
      done(new Thrown(e));
      throw e;
    }
    if (isPromise(r)) return r.then((v) => { done(v); return v; }, (e: unknown) => { done(new Thrown(e)); throw e; });
    done(r);
    return r;
  });
  return { host: wrapped, log };
}

// ---- withFaults --------------------------------------------------------------

export type FaultRules = Partial<Record<FaultSite, FaultRule>>;

/**
 * Inject faults at the named sites (see sim/faults.ts) around any host:
 *
 *   blk.open/read/write/flush  return the rule's errno instead of calling the host
 *                              (a failed write does not reach the disk);
 *   blk.latency                delay a block call by latencyNs, using the host's own timers;
 *   host.stat/open/read/write  likewise for etfs calls, host.latency for their delay;
 *   net.create                 netifCreate fails with errno;
 *   net.loss / net.dup         drop / send twice a frame on netifSend;
 *   net.latency / net.reorder  send later (fixed / uniform random delay) via a host timer.
 *
 * Decisions draw from `rng` (or a seed) in call order, so they replay exactly
 * when the call sequence does — on the sim host always, on the node host when
 * the workload is sequential. Pass a FaultSet to change rules while running.
 * Faults apply on the way out: received frames are not touched.
 */
export function withFaults(host: Hypercalls, rules: FaultRules | FaultSet, rng: Rng | number | bigint = 0): Hypercalls & { readonly faults: FaultSet } {
  const faults = rules instanceof FaultSet ? rules
    : new FaultSet(typeof rng === 'object' ? rng : splitRng(rng, 'faults'), rules);
  const inner = wrapEach(host, (_name, args, call) => call(args));
  const delay = (ns: bigint): Promise<void> => new Promise((res) => { host.timerStart(host.clockMonotonic() + ns, res); });

  /** An async call through an error site and a latency site. */
  function guarded<T>(errSite: FaultSite, latSite: FaultSite, go: () => Promise<T>): Promise<T | number> {
    const e = faults.errno(errSite);
    const lat = faults.latency(latSite);
    if (lat === 0n) return e ? Promise.resolve(e) : go();
    return delay(lat).then((): Promise<T | number> => (e ? Promise.resolve(e) : go()));
  }

  const w: Hypercalls & { faults: FaultSet } = {
    ...inner,
    faults,
    blkOpen: (name, opts) => guarded('blk.open', 'blk.latency', () => host.blkOpen(name, opts)),
    blkRead: (h, off, buf) => guarded('blk.read', 'blk.latency', () => host.blkRead(h, off, buf)),
    blkWrite: (h, off, data) => guarded('blk.write', 'blk.latency', () => host.blkWrite(h, off, data)),
    blkFlush: (h) => guarded('blk.flush', 'blk.latency', () => host.blkFlush(h)),
    hostStat: (p) => guarded('host.stat', 'host.latency', () => host.hostStat(p)),
    hostOpen: (p, f) => guarded('host.open', 'host.latency', () => host.hostOpen(p, f)),
    hostRead: (h, off, buf) => guarded('host.read', 'host.latency', () => host.hostRead(h, off, buf)),
    hostWrite: (h, off, data) => guarded('host.write', 'host.latency', () => host.hostWrite(h, off, data)),
    netifCreate: (name, deliver) => {
      const e = faults.errno('net.create');
      return e ? Promise.resolve(e) : host.netifCreate(name, deliver);
    },
    netifSend: (name, frame) => {
      if (faults.check('net.loss')) return;
      const copies = faults.check('net.dup') ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        const d = faults.latency('net.latency') + faults.jitter('net.reorder');
        if (d === 0n) host.netifSend(name, frame);
        else {
          const copy = frame.slice();
          host.timerStart(host.clockMonotonic() + d, () => host.netifSend(name, copy));
        }
      }
    },
  };
  return w;
}
