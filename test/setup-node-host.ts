/**
 * vitest setup: tests run under Node, so a kernel booted without `{ host }`
 * gets a NodeHost, as it does for a user who imports `anykernel` under Node.
 */
import '../src/frontends/library/node_default.ts';
