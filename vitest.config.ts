import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'tools/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // boot() without a host gets a NodeHost, as `anykernel` under Node gives.
    // Lock-order validation on, strict, for every NodeHost kernel (test/setup-lockdep.ts).
    setupFiles: ['test/setup-node-host.ts', 'test/setup-lockdep.ts'],
  },
});
