/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __XDPSTAT_H
#define __XDPSTAT_H

/* The key of the sampled `traffic` map: one protocol. Layout (offset/size): eth_proto 0/2,
 * ip_proto 2/1, pad 3/1; sizeof == 4. */
struct proto_key {
	__u16 eth_proto;	/* EtherType: 0x0800 IPv4, 0x86dd IPv6, 0x0806 ARP, ... */
	__u8 ip_proto;		/* IPv4/IPv6 next protocol: 1 ICMP, 6 TCP, 17 UDP, 58 ICMPv6; else 0 */
	__u8 pad;
};

/* Its value: what arrived with that protocol since the start. Layout: packets 0/8,
 * bytes 8/8; sizeof == 16. */
struct traffic {
	__u64 packets;		/* packets received */
	__u64 bytes;		/* their bytes, from the Ethernet header on */
};

#endif /* __XDPSTAT_H */
