#!/usr/bin/env node
// The `anykernel` command. In a source checkout with tsx installed it runs
// the TypeScript sources as they are (src/cli/main.ts), so the command never
// lags behind an edit; an installed package has only the compiled dist/, and
// runs dist/cli/main.js with plain node.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);

async function tsxRegister() {
  try {
    return (await import('tsx/esm/api')).register;
  } catch {
    return null;
  }
}

globalThis.__anykernelBin = true;
const register = existsSync(source) ? await tsxRegister() : null;
if (register !== null) {
  register();
  await import(source.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  process.stderr.write(
    'anykernel: dist/cli/main.js is missing and tsx is not installed to run the sources.\n' +
      "Run 'npm run build' (or 'npm ci', which builds) in the package directory.\n",
  );
  process.exit(1);
}
