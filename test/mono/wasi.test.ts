/**
 * Real C programs, compiled to wasm32-wasi by Debian's clang, run as
 * processes of the booted kernel and under Node's own node:wasi (with a
 * preopened host temp directory): a program that creates, writes, reads
 * back, renames, lists and deletes files, and a stdin→stdout filter inside a
 * pipeline with the TypeScript userland. Each must print the same and exit
 * with the same status. And two that must not wedge the kernel: one spinning
 * without system calls (SIGKILL ends it) and one that traps.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hasClang, nodeWasi } from './wasi/reference.ts';

const here = path.dirname(new URL(import.meta.url).pathname);

describe.skipIf(!hasClang && process.env.CI !== 'true')('C programs as WASI processes', () => {
  it('print the same on the kernel as under node:wasi, alone and in a pipeline', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-wasi-'));
    try {
      const bin = path.join(dir, 'bin'), out = path.join(dir, 'out');
      fs.mkdirSync(bin);
      fs.mkdirSync(out);
      for (const p of ['fileops', 'filter', 'spin', 'trap']) {
        execFileSync('clang', ['--target=wasm32-wasi', '-O2', '-o', path.join(bin, `${p}.wasm`), path.join(here, 'wasi', `${p}.c`)]);
        fs.chmodSync(path.join(bin, `${p}.wasm`), 0o755);
      }
      const input = 'one\ntwo\nthree\n';
      const script = [
        'cd /tmp',
        '/w/fileops.wasm > /o/fileops.out; echo $? > /o/fileops.st',
        `printf '${input.replace(/\n/g, '\\n')}' | /w/filter.wasm | cat > /o/filter.out; echo $? > /o/filter.st`,
        // In a pipeline between TypeScript programs, both ways round.
        `printf 'a b\\nc\\n' | /w/filter.wasm | tr A-Z a-z | /w/filter.wasm > /o/mixed.out`,
        // A module that never makes a system call is still ended by SIGKILL; one that traps dies alone.
        '/w/spin.wasm & pid=$!; sleep 0.3; kill -9 $pid; wait $pid; echo "spin $?" > /o/robust.out',
        '/w/trap.wasm >> /o/robust.out 2>/dev/null; echo "trap $?" >> /o/robust.out',
        'echo "kernel still here" >> /o/robust.out',
      ].join('\n');
      const r = spawnSync('npx', ['tsx', 'src/cli/main.ts', 'boot', '--bind', `${bin}:/w`, '--bind', `${out}:/o:rw`, '-c', script], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr + r.stdout).toBe(0);
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-wasi-ref-'));
      try {
        const fo = nodeWasi(path.join(bin, 'fileops.wasm'), work, '');
        expect(fs.readFileSync(path.join(out, 'fileops.out'), 'utf8')).toBe(fo.out);
        expect(Number(fs.readFileSync(path.join(out, 'fileops.st'), 'utf8'))).toBe(fo.status);
        const fi = nodeWasi(path.join(bin, 'filter.wasm'), work, input);
        expect(fs.readFileSync(path.join(out, 'filter.out'), 'utf8')).toBe(fi.out);
        expect(Number(fs.readFileSync(path.join(out, 'filter.st'), 'utf8'))).toBe(fi.status);
        const first = nodeWasi(path.join(bin, 'filter.wasm'), work, 'a b\nc\n');
        const second = nodeWasi(path.join(bin, 'filter.wasm'), work, first.out.toLowerCase());
        expect(fs.readFileSync(path.join(out, 'mixed.out'), 'utf8')).toBe(second.out);
        expect(fs.readFileSync(path.join(out, 'robust.out'), 'utf8')).toBe('spin 137\nabout to trap\ntrap 134\nkernel still here\n');
      } finally {
        fs.rmSync(work, { recursive: true, force: true });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
