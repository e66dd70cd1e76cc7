// SPDX-License-Identifier: GPL-2.0
/* A TC package as eunomia's examples/bpftools/tc writes one: the hook and the filter's handle
 * and priority are metadata (tchook, tcopts); one event per packet. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "tccount.h"

#define ETH_P_IP 0x0800
#define TC_ACT_OK 0
#define IP_PROTO_OFFSET 23 /* Ethernet header (14) + offset of protocol in the IPv4 header (9) */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

/// Every packet arriving at the interface, passed on untouched
/// @tchook {"ifindex": 1, "attach_point": "BPF_TC_INGRESS"}
/// @tcopts {"handle": 1, "priority": 1}
SEC("tc")
int tc_count(struct __sk_buff *skb)
{
	struct packet *e;
	__u8 ip_proto = 0;

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return TC_ACT_OK;
	e->ifindex = skb->ifindex;
	e->len = skb->len;
	e->eth_proto = bpf_ntohs(skb->protocol);
	if (e->eth_proto == ETH_P_IP)
		bpf_skb_load_bytes(skb, IP_PROTO_OFFSET, &ip_proto, 1);
	e->ip_proto = ip_proto;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
