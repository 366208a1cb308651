/**
 * /proc/net files in Linux's formats (proc(5)), registered with kern's
 * /proc/net registry (kern/sockhooks.ts) so procfs serves them without
 * knowing the network stack:
 *
 *   dev    per-interface counters (net/core/net-procfs.c dev_seq_printf_stats)
 *   route  the IPv4 routing table (net/ipv4/fib_trie.c fib_route_seq_show)
 *   arp    the ARP cache (net/ipv4/arp.c arp_format_neigh_entry)
 *   udp    UDP sockets (net/ipv4/udp.c udp4_format_sock)
 *   unix   AF_UNIX sockets (net/unix/af_unix.c unix_seq_show)
 *   snmp   Ip:, Icmp: and Udp: counters (a subset of Linux's columns)
 *
 * Addresses print as Linux prints a __be32 with %08X on a little-endian
 * machine (10.0.0.1 → 0100000A); ports in host order.
 */
import { procNetFiles } from '../kern/sockhooks.ts';
import type { Kernel } from '../kern/kernel.ts';
import { INADDR_ANY, type InAddr } from './addr.ts';
import { arpEntries } from './iface/arp.ts';
import { RTF_UP } from './iface/route.ts';
import { icmpState } from './ip/icmp.ts';
import { udpState } from './inet/udp.ts';
import { netOf, type NetStack } from './netstack.ts';
import { formatMac } from './wire/ether.ts';
import { formatIp4, prefixMask } from './addr.ts';
import type { SocketInfo } from './socket/protosw.ts';
import { unixSockets } from './socket/uipc_unix.ts';

/** A __be32 as %08X prints it on x86 (bytes reversed). */
export function hexAddr(a: InAddr): string {
  const le = (((a & 0xff) << 24) | ((a & 0xff00) << 8) | ((a >>> 8) & 0xff00) | (a >>> 24)) >>> 0;
  return le.toString(16).toUpperCase().padStart(8, '0');
}

const hex = (n: number, w: number): string => (n >>> 0).toString(16).toUpperCase().padStart(w, '0');
const pad127 = (s: string): string => `${s.padEnd(127)}\n`;

function devText(ns: NetStack): string {
  let s = 'Inter-|   Receive                                                |  Transmit\n'
    + ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n';
  for (const ifp of ns.ifnets.values()) {
    const c = ifp.counters;
    const f = (n: number, w: number): string => String(n).padStart(w);
    s += `${ifp.name.padStart(6)}:${f(c.rxBytes, 8)} ${f(c.rxPackets, 7)} ${f(c.rxErrors, 4)} ${f(c.rxDropped, 4)} ${f(0, 4)} ${f(0, 5)} ${f(0, 10)} ${f(0, 9)} `
      + `${f(c.txBytes, 8)} ${f(c.txPackets, 7)} ${f(c.txErrors, 4)} ${f(c.txDropped, 4)} ${f(0, 4)} ${f(0, 5)} ${f(0, 7)} ${f(0, 10)}\n`;
  }
  return s;
}

function routeText(ns: NetStack): string {
  let s = pad127('Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT');
  for (const r of ns.routes.list()) {
    if (r.ifp.kind === 'loopback') continue; // Linux keeps these in the local table, not main
    s += pad127(`${r.ifp.name}\t${hexAddr(r.dst)}\t${hexAddr(r.gateway)}\t${hex(r.flags | RTF_UP, 4)}\t0\t0\t${r.metric}\t${hexAddr(prefixMask(r.prefix))}\t${r.mtu}\t0\t0`);
  }
  return s;
}

function arpText(ns: NetStack): string {
  let s = 'IP address       HW type     Flags       HW address            Mask     Device\n';
  for (const e of arpEntries(ns)) {
    // ATF_COM 0x2, ATF_PERM 0x4; an incomplete entry shows flags 0x0 and a zero address.
    const flags = e.state === 'static' ? 0x6 : e.state === 'resolved' ? 0x2 : 0x0;
    const mac = e.mac !== null ? formatMac(e.mac) : '00:00:00:00:00:00';
    s += `${formatIp4(e.addr).padEnd(16)} ${'0x1'.padEnd(10)} ${`0x${flags.toString(16)}`.padEnd(11)} ${mac.padEnd(21)} ${'*'.padEnd(8)} ${e.ifp.name}\n`;
  }
  return s;
}

/** One line in the tcp/udp format (shared with TCP, which registers its own file). */
export function inetSockLine(sl: number, info: SocketInfo, uid: number, inode: number): string {
  const la = info.local?.family === 2 ? info.local : { addr: INADDR_ANY, port: 0 };
  const ra = info.remote?.family === 2 ? info.remote : { addr: INADDR_ANY, port: 0 };
  return pad127(`${String(sl).padStart(4)}: ${hexAddr(la.addr)}:${hex(la.port, 4)} ${hexAddr(ra.addr)}:${hex(ra.port, 4)} ${hex(info.stCode, 2)} `
    + `${hex(info.sendQ, 8)}:${hex(info.recvQ, 8)} 00:00000000 00000000 ${String(uid).padStart(5)} ${String(0).padStart(8)} ${inode} 2 0000000000000000 0`);
}

export const INET_SOCK_HEADER = pad127('  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops');

function udpText(ns: NetStack): string {
  let s = INET_SOCK_HEADER;
  let sl = 0;
  for (const pcb of udpState(ns).table.all()) s += inetSockLine(sl++, pcb.proto.info(), pcb.so.uid, pcb.so.ino);
  return s;
}

function unixText(ns: NetStack): string {
  let s = 'Num       RefCount Protocol Flags    Type St Inode Path\n';
  for (const so of unixSockets(ns)) {
    const i = so.proto.info();
    // __SO_ACCEPTCON 0x10000 for listeners; st 01 unconnected, 03 connected (SS_*).
    const listening = i.state === 'LISTEN';
    const path = i.local?.family === 1 && i.local.path !== '' ? ` ${i.local.path.startsWith('\0') ? `@${i.local.path.slice(1)}` : i.local.path}` : '';
    s += `0000000000000000: 00000002 00000000 ${hex(listening ? 0x10000 : 0, 8)} ${hex(so.type, 4)} ${hex(i.stCode, 2)} ${String(so.ino).padStart(5)}${path}\n`;
  }
  return s;
}

function snmpText(ns: NetStack): string {
  const ip = ns.ipStats;
  const ic = icmpState(ns).stats;
  const u = udpState(ns).stats;
  const fwd = ns.config.ipForward ? 1 : 2;
  return 'Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates\n'
    + `Ip: ${fwd} ${ns.config.defaultTtl} ${ip.inReceives} ${ip.inHdrErrors} ${ip.inAddrErrors} ${ip.forwDatagrams} ${ip.inUnknownProtos} ${ip.inDiscards} ${ip.inDelivers} ${ip.outRequests} ${ip.outDiscards} ${ip.outNoRoutes} 0 ${ip.reasmReqds} ${ip.reasmOKs} ${ip.reasmFails} ${ip.fragOKs} ${ip.fragFails} ${ip.fragCreates}\n`
    + 'Icmp: InMsgs InErrors InEchos OutMsgs OutErrors OutRateLimited\n'
    + `Icmp: ${ic.inMsgs} ${ic.inErrors} ${ic.inEchos} ${ic.outMsgs} ${ic.outErrors} ${ic.rateLimited}\n`
    + 'Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors\n'
    + `Udp: ${u.inDatagrams} ${u.noPorts} ${u.inErrors} ${u.outDatagrams} ${u.rcvbufErrors} 0 ${u.inCsumErrors}\n`;
}


export function procNetInit(k: Kernel): void {
  const files = procNetFiles(k);
  const on = (f: (ns: NetStack) => string) => (kk: Kernel): string => f(netOf(kk));
  files.set('dev', on(devText));
  files.set('route', on(routeText));
  files.set('arp', on(arpText));
  files.set('udp', on(udpText));
  files.set('unix', on(unixText));
  files.set('snmp', on(snmpText));
}
