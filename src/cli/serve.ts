/**
 * `anykernel serve`: boot a kernel and serve its system calls (rump_server).
 * The options map one to one onto serve() in src/frontends/sysproxy/server.ts;
 * the policy they set is described in src/frontends/sysproxy/README.md.
 */
import { parseArgs } from 'node:util';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { memoryParams, parseSize } from '../frontends/library/memory_opts.ts';
import { UsageError } from './main.ts';

export const SERVE_USAGE = `usage: anykernel serve --listen ADDRESS [OPTIONS]

Boot a kernel (tmpfs root) and serve its system calls to 'anykernel ctl' and to
connect() clients, until a root client halts it or the process gets SIGINT/SIGTERM.

  --listen ADDRESS      unix:PATH or tcp:HOST:PORT (PORT 0 picks a free port)
  --token-file FILE     clients must present the token in FILE (required for tcp:)
  --socket-mode MODE    octal mode of the unix socket (default 0600: only you)
  --cred UID:GID[:G,..] credentials of client processes (default 0:0, root)
  --allow-setcred       let clients ask for credentials above --cred
  --components LIST     kernel components, comma-separated (default: all)
  --net IF=tap:NAME,addr=A.B.C.D/P[,gw=G][,hostaddr=H/P]
                        attach IF to the host TAP device NAME (via socat; root) with
                        that address; repeat for more interfaces
  --root FS             the root file system: tmpfs (default) or ext2:IMAGE[:ro]
  --max-fds N           open descriptors per client process (default 1024)
  --max-inflight N      calls in flight per connection (default 256)
  --max-message SIZE    largest frame, e.g. 4M (default 4M)
  --memory SIZE         the kernel's memory limit, e.g. 512M (default 512M): file
                        data, inodes, pipes and processes are charged to it, and
                        past it calls fail as Linux's do (ENOSPC, ENOMEM)
  --tmpfs-size SIZE     size of the root tmpfs (default: half of --memory)
  --max-connections N   connections at once (default 1024)
  --max-connections-per-peer N
                        connections at once from one TCP address (default 64)
  --hello-timeout MS    a connection must complete HELLO within MS (default 10000)
  --frame-timeout MS    a frame that has begun must be complete within MS (default 30000)
  -q, --quiet           print nothing but errors
  -h, --help            this text
`;

/** The memory limit of a served kernel unless --memory says otherwise. */
export const DEFAULT_SERVE_MEMORY = 512 * 1024 * 1024;

/** A size option (65536, 64K, 4M); a malformed one is a usage error. */
function sizeArg(s: string, what: string): number {
  try {
    return parseSize(s, what);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function parseCount(s: string | undefined, what: string): number | undefined {
  if (s === undefined) return undefined;
  if (!/^\d+$/.test(s) || Number(s) < 1) throw new UsageError(`${what}: '${s}' is not a positive integer`);
  return Number(s);
}

export function parseCred(s: string): { uid: number; gid: number; groups: number[] } {
  const m = /^(\d+):(\d+)(?::(\d+(?:,\d+)*))?$/.exec(s);
  if (m === null) throw new UsageError(`--cred: '${s}' is not UID:GID or UID:GID:G1,G2`);
  return { uid: Number(m[1]), gid: Number(m[2]), groups: m[3] ? m[3].split(',').map(Number) : [] };
}

export function readToken(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the token file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const token = text.trim();
  if (token === '') throw new Error(`the token file ${file} is empty; put a long random string in it (e.g. openssl rand -hex 32)`);
  return token;
}

/** --root: tmpfs, or ext2:IMAGE[:ro] with the image path made absolute. */
function rootOf(v: string): string {
  if (v === 'tmpfs') return v;
  const m = /^ext2:(.+?)(:ro)?$/.exec(v);
  if (m === null) throw new UsageError(`--root: '${v}' is not tmpfs or ext2:IMAGE[:ro]`);
  if (!fs.existsSync(m[1]!)) throw new UsageError(`--root: image ${m[1]} does not exist (make one with 'anykernel mkfs.ext2 IMAGE SIZE')`);
  return `ext2:${path.resolve(m[1]!)}${m[2] ?? ''}`;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string' },
      'token-file': { type: 'string' },
      'socket-mode': { type: 'string' },
      cred: { type: 'string' },
      'allow-setcred': { type: 'boolean' },
      components: { type: 'string' },
      net: { type: 'string', multiple: true },
      root: { type: 'string' },
      'max-fds': { type: 'string' },
      'max-inflight': { type: 'string' },
      'max-message': { type: 'string' },
      'max-connections': { type: 'string' },
      memory: { type: 'string' },
      'tmpfs-size': { type: 'string' },
      'max-connections-per-peer': { type: 'string' },
      'hello-timeout': { type: 'string' },
      'frame-timeout': { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(SERVE_USAGE);
    return 0;
  }
  if (values.listen === undefined) throw new UsageError('--listen ADDRESS is required (unix:PATH or tcp:HOST:PORT)');
  let socketMode: number | undefined;
  if (values['socket-mode'] !== undefined) {
    if (!/^0?[0-7]{3}$/.test(values['socket-mode'])) throw new UsageError(`--socket-mode: '${values['socket-mode']}' is not an octal mode like 0600`);
    socketMode = parseInt(values['socket-mode'], 8);
  }
  const limits: Record<string, number> = {};
  const maxFds = parseCount(values['max-fds'], '--max-fds');
  if (maxFds !== undefined) limits.maxFds = maxFds;
  const maxInFlight = parseCount(values['max-inflight'], '--max-inflight');
  if (maxInFlight !== undefined) limits.maxInFlight = maxInFlight;
  if (values['max-message'] !== undefined) {
    const n = sizeArg(values['max-message'], '--max-message');
    if (n < 64 * 1024) throw new UsageError('--max-message must be at least 64K');
    limits.maxFrame = n;
    limits.chunk = Math.min(1 << 20, Math.floor(n / 2));
  }
  const token = values['token-file'] !== undefined ? readToken(values['token-file']) : undefined;
  // A served kernel answers untrusted clients: it gets a memory limit of its own, not the host's RAM.
  let params: Record<string, string>;
  try {
    params = memoryParams(values.memory, values['tmpfs-size'], DEFAULT_SERVE_MEMORY);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { NodeHost } = await import('../hyper/node/host.ts');
  const { serve } = await import('../frontends/sysproxy/server.ts');
  // --net tap:NAME interfaces are the host's to bridge: it needs them before boot.
  const net = values.net !== undefined ? (await import('./netspec.ts')).parseNetSpecs(values.net) : undefined;
  const taps = net !== undefined ? (await import('../frontends/library/net_boot.ts')).tapSpecs(net) : undefined;
  const say = (s: string): void => {
    if (!values.quiet) process.stderr.write(`anykernel serve: ${s}\n`);
  };
  const srv = await serve({
    listen: values.listen,
    ...(token !== undefined ? { token } : {}),
    ...(socketMode !== undefined ? { socketMode } : {}),
    ...(values.cred !== undefined ? { cred: parseCred(values.cred) } : {}),
    allowSetcred: values['allow-setcred'] ?? false,
    limits,
    maxConnections: parseCount(values['max-connections'], '--max-connections'),
    maxConnectionsPerPeer: parseCount(values['max-connections-per-peer'], '--max-connections-per-peer'),
    helloTimeoutMs: parseCount(values['hello-timeout'], '--hello-timeout'),
    frameTimeoutMs: parseCount(values['frame-timeout'], '--frame-timeout'),
    boot: {
      host: new NodeHost({ params, ...(taps !== undefined ? { taps } : {}) }),
      ...(values.components !== undefined ? { components: values.components.split(',').filter(Boolean) } : {}),
      ...(net !== undefined ? { net } : {}),
      ...(values.root !== undefined ? { root: rootOf(values.root) } : {}),
    },
  });
  say(`serving on ${srv.address} (process ${process.pid}); stop with Ctrl-C or 'anykernel ctl --server ${srv.address} halt'`);
  const report = await new Promise<import('../kern/index.ts').LeakReport>((resolve) => {
    const stop = (sig: string): void => {
      say(`${sig}: closing connections and halting the kernel`);
      void srv.close().then(() => srv.kernel.shutdown()).then(resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    void srv.halted.then(resolve);
  });
  await srv.close().catch(() => undefined);
  if (report.clean) say('halted; nothing leaked');
  else {
    say('halted; still held at halt:');
    for (const l of [...report.openFiles, ...report.heldLocks, ...report.liveThreads, ...report.processes, ...report.other]) say(`  ${l}`);
  }
  return 0;
}
