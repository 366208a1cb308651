/**
 * vitest setup: every kernel a test boots on a NodeHost validates its lock
 * order strictly — a lockdep report panics, so it fails the test instead of
 * scrolling past in dmesg — unless the run sets ANYKERNEL_LOCKDEP itself
 * (src/kern/README.md, "Switching lockdep"). Processes the tests spawn (the
 * CLI, FUSE servers) inherit it. SimHost kernels have lockdep on by default;
 * tests that want its reports to fail them pass `lockdep: 'strict'`.
 */
process.env.ANYKERNEL_LOCKDEP ??= 'strict';
