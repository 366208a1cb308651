/**
 * ifconfig, route, netstat and ping over a kernel's system calls, so they
 * work the same for library users (`k.sys`) and the CLI (`anykernel ctl`,
 * a remote kernel's `sys`). They do what Linux's net-tools and iputils do:
 * interface and route ioctls on a socket, /proc/net for tables and counters
 * (when procfs is mounted), an ICMP echo socket for ping. Each returns its
 * output text (ping streams lines through `out`) and throws an Error that
 * says what failed.
 */
import { performance } from 'node:perf_hooks';
import {
  AF_INET, IFF_BROADCAST, IFF_LOOPBACK, IFF_PROMISC, IFF_RUNNING, IFF_UP, IPPROTO_ICMP, SOCK_DGRAM, SOL_SOCKET, SO_RCVTIMEO,
  formatIp4, isIP, parseCidr, prefixMask,
} from '../../net/index.ts';
import { O_RDONLY } from '../../kern/index.ts';

/** The system calls the tools use (any frontend's `sys`). */
export type ToolSys = Record<string, (...a: unknown[]) => Promise<unknown>>;

const SIOCADDRT = 0x890b, SIOCDELRT = 0x890c, SIOCGIFCONF = 0x8912, SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914;
const SIOCGIFADDR = 0x8915, SIOCSIFADDR = 0x8916, SIOCGIFBRDADDR = 0x8919, SIOCGIFNETMASK = 0x891b, SIOCSIFNETMASK = 0x891c;
const SIOCGIFMTU = 0x8921, SIOCSIFMTU = 0x8922, SIOCGIFHWADDR = 0x8927;
const IFF_MULTICAST = 0x1000;
const IP_TTL = 2, IP_RECVTTL = 12, MSG_PEEK = 2;

async function readProc(sys: ToolSys, path: string): Promise<string | null> {
  let fd: number;
  try {
    fd = (await sys.open!(path, O_RDONLY)) as number;
  } catch {
    return null;
  }
  try {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const b = new Uint8Array(65536);
      const n = (await sys.read!(fd, b)) as number;
      if (n === 0) break;
      chunks.push(b.subarray(0, n));
    }
    return Buffer.concat(chunks).toString();
  } finally {
    await sys.close!(fd);
  }
}

async function withSock<T>(sys: ToolSys, fn: (fd: number) => Promise<T>): Promise<T> {
  const fd = (await sys.socket!(AF_INET, SOCK_DGRAM, 0)) as number;
  try {
    return await fn(fd);
  } finally {
    await sys.close!(fd);
  }
}

function fail(tool: string, what: string, e: unknown): Error {
  const code = (e as { code?: string }).code;
  const hints: Record<string, string> = {
    EPERM: 'changing the network needs root',
    ENODEV: 'no such interface; run ifconfig -a to list them',
    ENETUNREACH: 'no route; add one with route add',
    ESRCH: 'no such route',
    EEXIST: 'it is already there',
    ENOSYS: 'the kernel was booted without the net component',
  };
  const msg = e instanceof Error ? e.message : String(e);
  return new Error(`${tool}: ${what}: ${msg}${code && hints[code] ? ` (${hints[code]})` : ''}`);
}

interface IfCounters { rxPackets: number; rxBytes: number; rxErrors: number; rxDropped: number; txPackets: number; txBytes: number; txErrors: number; txDropped: number }

function parseDev(text: string | null): Map<string, IfCounters> {
  const m = new Map<string, IfCounters>();
  if (text === null) return m;
  for (const line of text.split('\n').slice(2)) {
    const mm = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!mm) continue;
    const f = mm[2]!.trim().split(/\s+/).map(Number);
    m.set(mm[1]!, { rxBytes: f[0]!, rxPackets: f[1]!, rxErrors: f[2]!, rxDropped: f[3]!, txBytes: f[8]!, txPackets: f[9]!, txErrors: f[10]!, txDropped: f[11]! });
  }
  return m;
}

function flagNames(flags: number): string {
  const names: [number, string][] = [[IFF_UP, 'UP'], [IFF_BROADCAST, 'BROADCAST'], [IFF_LOOPBACK, 'LOOPBACK'], [IFF_RUNNING, 'RUNNING'], [IFF_PROMISC, 'PROMISC'], [IFF_MULTICAST, 'MULTICAST']];
  return names.filter(([b]) => (flags & b) !== 0).map(([, n]) => n).join(',');
}

async function describeIf(sys: ToolSys, fd: number, name: string, counters: IfCounters | undefined): Promise<string> {
  const { flags } = (await sys.ioctl!(fd, SIOCGIFFLAGS, { name })) as { flags: number };
  const { mtu } = (await sys.ioctl!(fd, SIOCGIFMTU, { name })) as { mtu: number };
  let s = `${name}: flags=${flags}<${flagNames(flags)}>  mtu ${mtu}\n`;
  try {
    const a = ((await sys.ioctl!(fd, SIOCGIFADDR, { name })) as { addr: string }).addr;
    const m = ((await sys.ioctl!(fd, SIOCGIFNETMASK, { name })) as { addr: string }).addr;
    const b = ((await sys.ioctl!(fd, SIOCGIFBRDADDR, { name })) as { addr: string }).addr;
    s += `        inet ${a}  netmask ${m}${(flags & IFF_BROADCAST) !== 0 ? `  broadcast ${b}` : ''}\n`;
  } catch { /* no address */ }
  const hw = (await sys.ioctl!(fd, SIOCGIFHWADDR, { name })) as { hwaddr: string; family: number };
  s += hw.family === 772 ? '        loop  txqueuelen 1000  (Local Loopback)\n' : `        ether ${hw.hwaddr}  txqueuelen 1000  (Ethernet)\n`;
  if (counters) {
    s += `        RX packets ${counters.rxPackets}  bytes ${counters.rxBytes}\n`;
    s += `        RX errors ${counters.rxErrors}  dropped ${counters.rxDropped}  overruns 0  frame 0\n`;
    s += `        TX packets ${counters.txPackets}  bytes ${counters.txBytes}\n`;
    s += `        TX errors ${counters.txErrors}  dropped ${counters.txDropped} overruns 0  carrier 0  collisions 0\n`;
  }
  return s;
}

/**
 * ifconfig [-a] | ifconfig IF | ifconfig IF ADDR[/P] [netmask M] [mtu N] [up|down]
 */
export async function ifconfig(sys: ToolSys, args: string[] = []): Promise<string> {
  const counters = parseDev(await readProc(sys, '/proc/net/dev'));
  return withSock(sys, async (fd) => {
    const rest = args.filter((a) => a !== '-a');
    if (rest.length === 0) {
      let names = [...counters.keys()];
      if (names.length === 0) {
        const conf = (await sys.ioctl!(fd, SIOCGIFCONF)) as { name: string }[];
        names = [...new Set(conf.map((c) => c.name))];
      }
      const parts: string[] = [];
      for (const n of names) {
        const { flags } = (await sys.ioctl!(fd, SIOCGIFFLAGS, { name: n })) as { flags: number };
        if (!args.includes('-a') && (flags & IFF_UP) === 0) continue;
        parts.push(await describeIf(sys, fd, n, counters.get(n)));
      }
      return parts.join('\n');
    }
    const name = rest[0]!;
    if (rest.length === 1) {
      try {
        return await describeIf(sys, fd, name, counters.get(name));
      } catch (e) {
        throw fail('ifconfig', name, e);
      }
    }
    for (let i = 1; i < rest.length; i++) {
      const a = rest[i]!;
      try {
        if (a === 'up' || a === 'down') {
          const { flags } = (await sys.ioctl!(fd, SIOCGIFFLAGS, { name })) as { flags: number };
          await sys.ioctl!(fd, SIOCSIFFLAGS, { name, flags: a === 'up' ? flags | IFF_UP : flags & ~IFF_UP });
        } else if (a === 'mtu') {
          await sys.ioctl!(fd, SIOCSIFMTU, { name, mtu: Number(rest[++i]) });
        } else if (a === 'netmask') {
          await sys.ioctl!(fd, SIOCSIFNETMASK, { name, addr: rest[++i] });
        } else {
          const c = parseCidr(a);
          if (c === null) throw new Error(`'${a}' is not an address (A.B.C.D or A.B.C.D/P)`);
          await sys.ioctl!(fd, SIOCSIFADDR, { name, addr: formatIp4(c.addr), prefix: a.includes('/') ? c.prefix : undefined });
          // net-tools: an address brings the interface up.
          const { flags } = (await sys.ioctl!(fd, SIOCGIFFLAGS, { name })) as { flags: number };
          await sys.ioctl!(fd, SIOCSIFFLAGS, { name, flags: flags | IFF_UP });
        }
      } catch (e) {
        throw fail('ifconfig', `${name} ${a}`, e);
      }
    }
    return '';
  });
}

const hexToIp = (h: string): string => {
  const n = parseInt(h, 16) >>> 0;
  return `${n & 255}.${(n >>> 8) & 255}.${(n >>> 16) & 255}.${n >>> 24}`;
};

/**
 * route [-n] | route add|del default gw GW [dev IF] | route add|del -net A/P [gw GW] [dev IF] [metric N]
 * | route add|del -host A [gw GW] [dev IF]
 */
export async function route(sys: ToolSys, args: string[] = []): Promise<string> {
  const rest = args.filter((a) => a !== '-n');
  if (rest.length === 0) {
    const text = await readProc(sys, '/proc/net/route');
    if (text === null) throw new Error('route: cannot read /proc/net/route (is procfs mounted at /proc?)');
    let s = 'Kernel IP routing table\nDestination     Gateway         Genmask         Flags Metric Ref    Use Iface\n';
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split('\t');
      if (f.length < 8) continue;
      const flags = parseInt(f[3]!, 16);
      const fl = `${flags & 1 ? 'U' : ''}${flags & 2 ? 'G' : ''}${flags & 4 ? 'H' : ''}`;
      s += `${hexToIp(f[1]!).padEnd(16)}${hexToIp(f[2]!).padEnd(16)}${hexToIp(f[7]!).padEnd(16)}${fl.padEnd(6)}${f[6]!.padEnd(7)}0      0 ${f[0]}\n`;
    }
    return s;
  }
  const verb = rest[0];
  if (verb !== 'add' && verb !== 'del') throw new Error(`route: '${verb}': use add or del`);
  const rt: { dst: string; genmask: string; gateway?: string; dev?: string; metric?: number } = { dst: '0.0.0.0', genmask: '0.0.0.0' };
  for (let i = 1; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === 'default') continue;
    if (a === '-net' || a === '-host') {
      const c = parseCidr(rest[++i] ?? '');
      if (c === null) throw new Error(`route: '${rest[i]}' is not an address`);
      const prefix = a === '-host' ? 32 : c.prefix;
      rt.dst = formatIp4((c.addr & prefixMask(prefix)) >>> 0);
      rt.genmask = formatIp4(prefixMask(prefix));
    } else if (a === 'gw') rt.gateway = rest[++i];
    else if (a === 'dev') rt.dev = rest[++i];
    else if (a === 'metric') rt.metric = Number(rest[++i]);
    else if (a === 'netmask') rt.genmask = rest[++i]!;
    else throw new Error(`route: unknown argument '${a}'`);
  }
  await withSock(sys, async (fd) => {
    try {
      await sys.ioctl!(fd, verb === 'add' ? SIOCADDRT : SIOCDELRT, rt);
    } catch (e) {
      throw fail('route', `${verb} ${rt.dst}/${rt.genmask}`, e);
    }
  });
  return '';
}

const TCP_STATES = ['', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING'];

function inetRows(proto: string, text: string | null, all: boolean): string[] {
  if (text === null) return [];
  const rows: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [la, lp] = f[1]!.split(':');
    const [ra, rp] = f[2]!.split(':');
    const st = parseInt(f[3]!, 16);
    const [txq, rxq] = f[4]!.split(':').map((x) => parseInt(x, 16));
    const state = proto === 'tcp' ? TCP_STATES[st] ?? String(st) : st === 1 ? 'ESTABLISHED' : '';
    if (!all && (state === 'LISTEN' || (proto === 'udp' && st === 7))) continue;
    const local = `${hexToIp(la!)}:${parseInt(lp!, 16)}`;
    const remote = parseInt(rp!, 16) === 0 && parseInt(ra!, 16) === 0 ? '0.0.0.0:*' : `${hexToIp(ra!)}:${parseInt(rp!, 16)}`;
    rows.push(`${proto.padEnd(6)}${String(rxq).padStart(6)} ${String(txq).padStart(6)} ${local.padEnd(24)}${remote.padEnd(24)}${state}`);
  }
  return rows;
}

/** netstat [-a] [-t] [-u] [-x] [-n]: sockets from /proc/net. */
export async function netstat(sys: ToolSys, args: string[] = []): Promise<string> {
  const flags = new Set(args.flatMap((a) => (a.startsWith('-') ? [...a.slice(1)] : [])));
  const all = flags.has('a');
  const pick = ['t', 'u', 'x'].some((f) => flags.has(f)) ? flags : new Set(['t', 'u', 'x']);
  let s = 'Active Internet connections' + (all ? ' (servers and established)' : ' (w/o servers)') + '\n';
  s += 'Proto Recv-Q Send-Q Local Address           Foreign Address         State\n';
  const rows: string[] = [];
  if (pick.has('t')) rows.push(...inetRows('tcp', await readProc(sys, '/proc/net/tcp'), all));
  if (pick.has('u')) rows.push(...inetRows('udp', await readProc(sys, '/proc/net/udp'), all));
  s += rows.map((r) => `${r}\n`).join('');
  if (pick.has('x')) {
    const text = await readProc(sys, '/proc/net/unix');
    s += 'Active UNIX domain sockets' + (all ? ' (servers and established)' : ' (w/o servers)') + '\nProto RefCnt Flags       Type       State         I-Node   Path\n';
    for (const line of (text ?? '').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 7) continue;
      const listening = parseInt(f[3]!, 16) & 0x10000;
      if (listening && !all) continue;
      const type = parseInt(f[4]!, 16) === 1 ? 'STREAM' : 'DGRAM';
      const state = listening ? 'LISTENING' : parseInt(f[5]!, 16) === 3 ? 'CONNECTED' : '';
      s += `unix  2      [ ${listening ? 'ACC ' : ''}]${' '.repeat(listening ? 5 : 9)}${type.padEnd(11)}${state.padEnd(14)}${f[6]!.padEnd(9)}${f[7] ?? ''}\n`;
    }
  }
  return s;
}

export interface PingOptions {
  count?: number;
  intervalMs?: number;
  /** How long to wait for each reply (default 1000 ms). */
  timeoutMs?: number;
  size?: number;
  ttl?: number;
}

export interface PingResult {
  transmitted: number;
  received: number;
  rttMs: number[];
}

/** ping HOST: ICMP echo through an echo socket; prints iputils-style lines to `out`. */
export async function ping(sys: ToolSys, host: string, opts: PingOptions = {}, out: (line: string) => void = () => {}): Promise<PingResult> {
  if (isIP(host) !== 4) throw new Error(`ping: ${host}: give an IPv4 address`);
  const count = opts.count ?? 4;
  const size = opts.size ?? 56;
  const timeoutMs = opts.timeoutMs ?? 1000;
  const fd = (await sys.socket!(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)) as number;
  const res: PingResult = { transmitted: 0, received: 0, rttMs: [] };
  try {
    await sys.setsockopt!(fd, 0, IP_RECVTTL, 1);
    if (opts.ttl !== undefined) await sys.setsockopt!(fd, 0, IP_TTL, opts.ttl);
    await sys.setsockopt!(fd, SOL_SOCKET, SO_RCVTIMEO, { sec: Math.floor(timeoutMs / 1000), usec: (timeoutMs % 1000) * 1000 });
    out(`PING ${host} (${host}) ${size}(${size + 28}) bytes of data.`);
    for (let seq = 1; seq <= count; seq++) {
      const msg = new Uint8Array(8 + size);
      msg[0] = 8;
      msg[6] = seq >>> 8;
      msg[7] = seq & 0xff;
      for (let i = 8; i < msg.length; i++) msg[i] = i & 0xff;
      const t0 = performance.now();
      try {
        await sys.sendto!(fd, msg, 0, { family: AF_INET, addr: host, port: 0 });
      } catch (e) {
        throw fail('ping', `sendto ${host}`, e);
      }
      res.transmitted++;
      for (;;) {
        // recvmsg with MSG_PEEK for the TTL control message, then recvfrom for the bytes: a
        // remote kernel's sys returns recvfrom's buffer but not buffers inside recvmsg's msghdr.
        const buf = new Uint8Array(8 + size + 64);
        let ttl = 0;
        let n: number;
        let from: { addr?: string } | null;
        try {
          const peek = (await sys.recvmsg!(fd, { iov: [new Uint8Array(8)] }, MSG_PEEK)) as { control: { type: number; data?: Uint8Array }[] };
          const ttlC = peek.control.find((c) => c.type === IP_TTL)?.data;
          if (ttlC) ttl = new DataView(ttlC.buffer, ttlC.byteOffset, 4).getInt32(0, true);
          [n, from] = (await sys.recvfrom!(fd, buf, 0)) as [number, { addr?: string } | null];
        } catch (e) {
          if ((e as { code?: string }).code === 'EAGAIN') break; // timed out: lost
          throw fail('ping', 'recvmsg', e);
        }
        if (((buf[6]! << 8) | buf[7]!) !== seq) continue; // a late reply to an earlier request
        const ms = performance.now() - t0;
        res.received++;
        res.rttMs.push(ms);
        out(`${n} bytes from ${from?.addr}: icmp_seq=${seq} ttl=${ttl} time=${ms.toFixed(3)} ms`);
        break;
      }
      if (seq < count && (opts.intervalMs ?? 1000) > 0) await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000));
    }
  } finally {
    await sys.close!(fd);
  }
  const loss = res.transmitted === 0 ? 0 : Math.round((100 * (res.transmitted - res.received)) / res.transmitted);
  out(`\n--- ${host} ping statistics ---`);
  out(`${res.transmitted} packets transmitted, ${res.received} received, ${loss}% packet loss`);
  if (res.rttMs.length > 0) {
    const min = Math.min(...res.rttMs), max = Math.max(...res.rttMs), avg = res.rttMs.reduce((a, b) => a + b, 0) / res.rttMs.length;
    out(`rtt min/avg/max = ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)} ms`);
  }
  return res;
}
