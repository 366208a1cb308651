/**
 * The deterministic simulation host, public surface (`anykernel/sim`).
 * See src/hyper/README.md for the model and how to replay a seed.
 */
export { SimHost, SimPanic, type SimHostOptions } from './host.ts';
export { SimWorld, SimStuck, type RunOptions, type SimWorldOptions } from './world.ts';
export { SimNetwork, type SimNetworkOptions, type SimNetworkStats } from './network.ts';
export { SimDisk, type CrashMode } from './disk.ts';
export { FaultSet, type FaultRule, type FaultSite, type KnownFaultSite, type FaultStats } from './faults.ts';
export { HashLog, digest, type HashLogEntry, type Divergence } from './hashlog.ts';
export { splitRng, normalizeSeed, type Rng } from './rng.ts';
export { forEachSeed, seedsFor, type ForEachSeedOptions } from './harness.ts';
