/**
 * The net component (phase NET): creates the kernel's NetStack, its sysctl
 * nodes (net.ipv4.*, net.core.*), registers the protocols and the socket
 * system calls. Interfaces other than loopback are attached after boot by
 * whoever configures the kernel (the library's `boot({ net })`, the CLI).
 */
import { EINVAL, err } from '../kern/errno.ts';
import { Phase, type Component } from '../kern/component.ts';
import type { Kernel } from '../kern/kernel.ts';
import { NetStack, type NetConfig } from './netstack.ts';
import { socketSyscalls } from './socket/sys_socket.ts';
import { arpInit, arpStopAll } from './iface/arp.ts';
import { ifDetach } from './iface/if.ts';
import { loopbackAttach } from './iface/loopback.ts';
import { ipInit, ipShutdown } from './ip/ip_input.ts';
import { udpInit } from './inet/udp.ts';
import { tcpInit, tcpShutdown } from './tcp/tcp_socket.ts';
import { pingInit } from './inet/ping.ts';
import { unixInit } from './socket/uipc_unix.ts';
import { netOf } from './netstack.ts';
import { procNetInit } from './procnet.ts';

type NumKey = { [K in keyof NetConfig]: NetConfig[K] extends number ? K : never }[keyof NetConfig];
type BoolKey = { [K in keyof NetConfig]: NetConfig[K] extends boolean ? K : never }[keyof NetConfig];

function sysctls(k: Kernel, ns: NetStack): void {
  const num = (name: string, desc: string, key: NumKey, lo: number, hi: number): void => {
    k.sysctl.register({
      name, description: desc, get: () => ns.config[key],
      set: (v) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw err(EINVAL);
        ns.config[key] = v;
      },
    });
  };
  const bool = (name: string, desc: string, key: BoolKey): void => {
    k.sysctl.register({
      name, description: desc, get: () => (ns.config[key] ? 1 : 0),
      set: (v) => {
        if (v !== 0 && v !== 1) throw err(EINVAL);
        ns.config[key] = v === 1;
      },
    });
  };
  bool('net.ipv4.ip_forward', 'forward datagrams between interfaces', 'ipForward');
  num('net.ipv4.ip_default_ttl', 'TTL of datagrams this host sends', 'defaultTtl', 1, 255);
  // Linux's "LO<tab>HI" text (ip-sysctl.rst: ip_local_port_range).
  k.sysctl.register({
    name: 'net.ipv4.ip_local_port_range', description: 'ephemeral ports: "LOW HIGH"',
    get: () => `${ns.config.portLo}\t${ns.config.portHi}`,
    set: (v) => {
      const m = typeof v === 'string' ? /^\s*(\d+)\s+(\d+)\s*$/.exec(v) : null;
      const lo = m ? Number(m[1]) : NaN, hi = m ? Number(m[2]) : NaN;
      if (!(lo >= 1 && hi <= 65535 && lo <= hi)) throw err(EINVAL);
      ns.config.portLo = lo;
      ns.config.portHi = hi;
    },
  });
  num('net.ipv4.icmp_ratelimit', 'ms between ICMP errors to one destination', 'icmpRatelimitMs', 0, 3_600_000);
  bool('net.ipv4.icmp_echo_ignore_all', 'do not answer pings', 'icmpEchoIgnoreAll');
  num('net.ipv4.ipfrag_time', 'seconds a fragment waits for the rest of its datagram', 'ipfragTimeS', 1, 3600);
  num('net.ipv4.ipfrag_high_thresh', 'bytes all reassembly queues may hold', 'ipfragHighThresh', 0, 1 << 30);
  num('net.core.rmem_default', 'default receive buffer of a socket', 'rmemDefault', 256, 1 << 30);
  num('net.core.rmem_max', 'largest SO_RCVBUF', 'rmemMax', 256, 1 << 30);
  num('net.core.wmem_default', 'default send buffer of a socket', 'wmemDefault', 256, 1 << 30);
  num('net.core.wmem_max', 'largest SO_SNDBUF', 'wmemMax', 256, 1 << 30);
}

export const netComponent: Component = {
  name: 'net',
  phase: Phase.NET,
  init(k: Kernel) {
    const ns = new NetStack(k);
    k.provide('net', ns);
    sysctls(k, ns);
    arpInit(ns);
    ipInit(ns);
    udpInit(ns);
    tcpInit(ns);
    pingInit(ns);
    unixInit(ns);
    loopbackAttach(ns);
    procNetInit(k);
    k.syscalls.register(socketSyscalls);
  },
  async shutdown(k: Kernel) {
    const ns = netOf(k);
    for (const ifp of [...ns.ifnets.values()].reverse()) await ifDetach(ns, ifp);
    tcpShutdown(ns);
    arpStopAll(ns);
    ipShutdown(ns);
  },
};
