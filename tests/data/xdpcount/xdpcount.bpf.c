// SPDX-License-Identifier: GPL-2.0
/* An XDP package as eunomia's examples/bpftools/xdp writes one: where to attach is metadata
 * (ifindex, flags, xdpopts) that libbpf cannot auto-attach from; one event per packet. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xdpcount.h"

#define ETH_P_IP 0x0800

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

/// Every packet arriving at the interface, passed on untouched
/// @ifindex 1
/// @flags 0
/// @xdpopts {"old_prog_fd": 0}
SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct packet *e;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return XDP_PASS;
	e->ifindex = ctx->ingress_ifindex;
	e->len = end - data;
	e->eth_proto = bpf_ntohs(eth->h_proto);
	e->ip_proto = e->eth_proto == ETH_P_IP && (void *)(ip + 1) <= end ? ip->protocol : 0;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
