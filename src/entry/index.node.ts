/**
 * `anykernel` under Node (the `node` export condition): the root entry with a
 * NodeHost installed as the default host, so `boot()` needs no arguments.
 */
import '../frontends/library/node_default.ts';

export * from '../index.ts';
