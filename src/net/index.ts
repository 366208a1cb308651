/**
 * The net faction's public surface for frontends and the CLI: everything
 * outside src/net reaches the stack through this file.
 */
export { netComponent } from './net_component.ts';
export { NetStack, netOf, type NetConfig } from './netstack.ts';
export { INADDR_ANY, INADDR_LOOPBACK, formatIp4, ip4, isIP, parseCidr, parseIp4, prefixMask, type InAddr } from './addr.ts';
export { Ifnet, IFF_UP, IFF_BROADCAST, IFF_LOOPBACK, IFF_RUNNING, type IfTap } from './iface/ifnet.ts';
export { AF_INET, AF_INET6, AF_UNIX, AF_UNSPEC, parseSockaddr, toUserSockaddr, type SockAddr, type UserSockAddr } from './socket/sockaddr.ts';
export * from './socket/constants.ts';
export type { socketSyscalls } from './socket/sys_socket.ts';
