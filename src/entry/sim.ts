/**
 * `anykernel/sim`: the deterministic simulation host — virtual time, seeded
 * scheduling, fault injection, simulated disks and networks, and a hash log
 * of every hypercall so a seed replays exactly. See src/hyper/README.md.
 */
export * from '../hyper/sim/index.ts';
