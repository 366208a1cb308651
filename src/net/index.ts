/**
 * The net faction's public surface for frontends and the CLI: everything
 * outside src/net reaches the stack through this file.
 */
export { netComponent } from './net_component.ts';
export { NetStack, netOf, type NetConfig } from './netstack.ts';
export {
  INADDR_ANY, INADDR_BROADCAST, INADDR_LOOPBACK, formatIp4, ip4, isIP, parseCidr, parseIp4, prefixMask, type InAddr,
} from './addr.ts';
export { Ifnet, IFF_UP, IFF_BROADCAST, IFF_LOOPBACK, IFF_RUNNING, IFF_PROMISC, type IfTap, type IfCounters } from './iface/ifnet.ts';
export { ifAttach, ifDetach, ifAddrAdd, ifAddrDel, ifSetUp } from './iface/if.ts';
export { ifConfigure, type IfConfig } from './iface/config.ts';
export { EtherBus, busAttach, randomMac } from './iface/if_bus.ts';
export { virtifAttach } from './iface/if_virt.ts';
export { arpEntries, arpSetStatic, arpDelete } from './iface/arp.ts';
export { RTF_GATEWAY, RTF_HOST, RTF_UP, type Route } from './iface/route.ts';
export { IPPROTO_ICMP, IPPROTO_IP, IPPROTO_TCP, IPPROTO_UDP } from './ip/ip_var.ts';
export { routeTo } from './ip/ip.ts';
export { icmpEcho, icmpState, type EchoReply } from './ip/icmp.ts';
export { udpState } from './inet/udp.ts';
export {
  AF_INET, AF_INET6, AF_LOCAL, AF_UNIX, AF_UNSPEC, emitSockaddr, parseSockaddr, toUserSockaddr, type SockAddr, type UserSockAddr,
} from './socket/sockaddr.ts';
export * from './socket/constants.ts';
export type { socketSyscalls } from './socket/sys_socket.ts';
export { formatMac, parseMac } from './wire/ether.ts';
export { pcapGlobalHeader, pcapRecord, parsePcap } from './wire/pcap.ts';
