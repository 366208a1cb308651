// A user process's worker entry when no bundle could be built: registers
// tsx in this thread so the TypeScript sources load (slow: about 300 ms per
// worker instead of about 50), then runs uproc_entry.ts.
import { register } from 'tsx/esm/api';

register();
await import('./uproc_entry.ts');
