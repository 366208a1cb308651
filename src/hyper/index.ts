/**
 * src/hyper: the hypercall interface and its hosts. Kernel code imports only
 * the types from here; frontends and tests pick a host and wrap it.
 */
export * from './types.ts';
export { NodeHost, type NodeHostOptions } from './node/host.ts';
export * from './sim/index.ts';
export {
  withFaults, withTrace, withRecord, Thrown, HYPERCALL_NAMES,
  type HypercallName, type TraceSink, type RecordEntry, type FaultRules,
} from './wrap.ts';
