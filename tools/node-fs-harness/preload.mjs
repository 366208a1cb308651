/**
 * The node:fs harness's `--import` entry (run.ts): in the test's main thread
 * it runs setup.mts (which makes `require('fs')` the facade); threads the
 * test or the kernel starts inherit the flag and skip it.
 */
import { isMainThread } from 'node:worker_threads';

if (isMainThread) await import('./setup.mts');
