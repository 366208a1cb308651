// Entry point of the kernel worker (worker.ts starts it): registers tsx in
// this thread so the TypeScript sources load, then runs worker-host.ts.
// Plain .mjs on purpose: it must load before any TypeScript loader exists.
import { register } from 'tsx/esm/api';

register();
await import('./worker-host.ts');
