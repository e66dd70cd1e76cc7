// SPDX-License-Identifier: GPL-2.0
/* Packets and bytes per protocol arriving at one network interface, counted by XDP and
 * sampled from a map every second. Every packet is passed on: the program only counts. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "xdpstat.h"
#include "lmp_helpers.bpf.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define MAX_PROTOCOLS 1024

static const struct traffic zero;

/// Packets and bytes per protocol (struct proto_key -> struct traffic), since the start
/// @sample {"interval": 1000, "type": "default_kv"}
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PROTOCOLS);
	__type(key, struct proto_key);
	__type(value, struct traffic);
} traffic SEC(".maps");

/* The IPv4 or IPv6 next-header field, 0 for anything else or a truncated header. */
static __always_inline __u8 ip_protocol(void *l3, void *end, __u16 eth_proto)
{
	if (eth_proto == ETH_P_IP) {
		struct iphdr *ip = l3;

		return (void *)(ip + 1) <= end ? ip->protocol : 0;
	}
	if (eth_proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = l3;

		return (void *)(ip6 + 1) <= end ? ip6->nexthdr : 0;
	}
	return 0;
}

/// Counts each packet under its protocol; attaches to lo unless --ifname says otherwise
/// @ifindex 1
/// @flags 0
/// @xdpopts {"old_prog_fd": 0}
SEC("xdp")
int xdp_stat(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct proto_key key = {};
	struct traffic *val;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	key.eth_proto = bpf_ntohs(eth->h_proto);
	key.ip_proto = ip_protocol(eth + 1, end, key.eth_proto);
	val = lmp_lookup_or_init(&traffic, &key, &zero);
	if (!val)
		return XDP_PASS;
	__sync_fetch_and_add(&val->packets, 1);
	__sync_fetch_and_add(&val->bytes, end - data);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
