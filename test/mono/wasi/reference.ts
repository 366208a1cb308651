/**
 * The reference side of the WASI acceptance tests: whether Debian's clang can
 * build wasm32-wasi here, and a run of a module under Node's own node:wasi
 * with a host directory preopened as "/".
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WASI } from 'node:wasi';

/** The WebAssembly JS API (the project's TypeScript libs do not declare it). */
const WA = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object; Instance: new (m: object, i: object) => object } }).WebAssembly;

/** clang with wasi-libc can build a WASI command. */
export const hasClang = spawnSync('clang', ['--target=wasm32-wasi', '-O2', '-o', '/dev/null', '-x', 'c', '-'], { input: 'int main(void){return 0;}' }).status === 0;

/**
 * Run a module under node:wasi with `dir` preopened as "/" (which is also its
 * working directory), `input` on stdin; returns its stdout and exit status.
 */
export function nodeWasi(wasm: string, dir: string, input: string, args: string[] = []): { out: string; status: number } {
  const io = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-wasi-io-'));
  const inPath = path.join(io, 'stdin'), outPath = path.join(io, 'stdout');
  fs.writeFileSync(inPath, input);
  const inFd = fs.openSync(inPath, 'r'), outFd = fs.openSync(outPath, 'w');
  try {
    const wasi = new WASI({ version: 'preview1', args: [path.basename(wasm), ...args], env: {}, preopens: { '/': dir }, returnOnExit: true, stdin: inFd, stdout: outFd });
    const inst = new WA.Instance(new WA.Module(fs.readFileSync(wasm)), wasi.getImportObject());
    const status = wasi.start(inst as Parameters<WASI['start']>[0]);
    return { out: fs.readFileSync(outPath, 'utf8'), status };
  } finally {
    fs.closeSync(inFd);
    fs.closeSync(outFd);
    fs.rmSync(io, { recursive: true, force: true });
  }
}
