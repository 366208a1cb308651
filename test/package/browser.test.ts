/**
 * The root entry (and anykernel/kern) from the sources, bundled by esbuild for
 * a browser: no Node builtin is reachable, statically or through the dynamic
 * imports of component loaders. The packed-package test does the same for the
 * installed dist/.
 */
import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { bundleForBrowser } from './bundle.ts';

const src = path.resolve(import.meta.dirname, '../../src');

describe('browser bundle of the sources', () => {
  for (const entry of ['index.ts', 'entry/kern.ts']) {
    it(`src/${entry} reaches no node:* module`, async () => {
      const r = await bundleForBrowser({ entry: path.join(src, entry) });
      expect(r.errors).toEqual([]);
      expect(r.nodeImports).toEqual([]);
      expect(r.inputs.length).toBeGreaterThan(20);
    });
  }

  it('the check sees a Node builtin when one is reachable', async () => {
    const r = await bundleForBrowser({ entry: path.join(src, 'entry/index.node.ts') });
    expect(r.nodeImports.some((s) => s.startsWith('node:fs'))).toBe(true);
  });
});
