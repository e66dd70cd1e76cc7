#ifndef __XDPCOUNT_H
#define __XDPCOUNT_H

/* One packet seen at the interface. */
struct packet {
	unsigned int ifindex;
	unsigned int len;		/* bytes, from the Ethernet header on */
	unsigned short eth_proto;	/* 0x0800 IPv4, 0x86dd IPv6, ... */
	unsigned char ip_proto;		/* 1 ICMP, 6 TCP, 17 UDP (IPv4 only; else 0) */
	unsigned char pad;
};

#endif
