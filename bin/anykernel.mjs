#!/usr/bin/env node
// The `anykernel` command: registers tsx so the TypeScript sources run as
// they are, then hands the command line to src/cli/main.ts.
import { register } from 'tsx/esm/api';

register();
globalThis.__anykernelBin = true;
await import('../src/cli/main.ts');
