/**
 * `anykernel/net`: `createNet(k)`, a node:net-compatible facade over a
 * kernel's sockets (Node's http runs over it); the in-process `EtherBus`;
 * packet capture to pcap files; the ifconfig/route/netstat/ping tools over
 * any kernel's system calls; and the names of the socket ABI constants.
 */
export * from '../frontends/library/net.ts';
export { capture, captureBytes, type Capture } from '../frontends/library/pcap.ts';
export { ifconfig, netstat, ping, route, type PingOptions, type PingResult, type ToolSys } from '../frontends/library/net_tools.ts';
export type { NetIfOptions, NetOptions } from '../frontends/library/net_boot.ts';
export {
  AF_INET, AF_UNIX, AF_UNSPEC, SOCK_DGRAM, SOCK_STREAM, SOCK_NONBLOCK, SOCK_CLOEXEC, SOL_SOCKET, IPPROTO_TCP, IPPROTO_UDP,
  IPPROTO_ICMP, MSG_DONTWAIT, MSG_PEEK, MSG_WAITALL, MSG_NOSIGNAL, SHUT_RD, SHUT_WR, SHUT_RDWR, SO_REUSEADDR, SO_KEEPALIVE,
  SO_RCVBUF, SO_SNDBUF, SO_LINGER, SO_ERROR, SO_RCVTIMEO, SO_SNDTIMEO, TCP_NODELAY, IP_TTL, type UserSockAddr,
} from '../net/index.ts';
