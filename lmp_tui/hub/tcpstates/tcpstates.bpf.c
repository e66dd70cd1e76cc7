// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Based on libbpf-tools tcpstates.bpf.c, Copyright (c) 2021 Hengqi Chen */
/* TCP socket state changes, with the time spent in the previous state. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "tcpstates.h"
#include "lmp_events.bpf.h"

/* Keeps struct event in the object's BTF (the ring buffer carries it), the
 * same declaration eunomia-bpf's ecc appends when it builds a package. */
const volatile struct event * __eunomia_dummy_event_ptr __attribute__((unused));

#define MAX_ENTRIES 10240
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

/// Only IPv4 (4) or only IPv6 (6) sockets (0 = both)
/// @cmdarg {"default": 0, "short": "f", "long": "family"}
const volatile int targ_family = 0;
/// Only sockets with this local port (0 = all)
/// @cmdarg {"default": 0, "short": "s", "long": "sport"}
const volatile int targ_sport = 0;
/// Only sockets with this remote port (0 = all)
/// @cmdarg {"default": 0, "short": "d", "long": "dport"}
const volatile int targ_dport = 0;

/* socket address -> time (ns) of its last state change */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u64);
	__type(value, __u64);
} timestamps SEC(".maps");

/* inet_sock_set_state format (6.18): skaddr @8, oldstate @16, newstate @20,
 * sport @24, dport @26, family @28, protocol @30, saddr[4] @32,
 * daddr[4] @36, saddr_v6[16] @40, daddr_v6[16] @56
 * == struct trace_event_raw_inet_sock_set_state. Ports are host order. */
SEC("tracepoint/sock/inet_sock_set_state")
int handle_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 sk = (__u64)ctx->skaddr;
	__u16 family = ctx->family;
	__u16 sport = ctx->sport;
	__u16 dport = ctx->dport;
	__u64 *tsp, ts, delta_us = 0;
	struct event *e;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (targ_family == 4 && family != AF_INET)
		return 0;
	if (targ_family == 6 && family != AF_INET6)
		return 0;
	if (targ_sport && sport != targ_sport)
		return 0;
	if (targ_dport && dport != targ_dport)
		return 0;

	ts = bpf_ktime_get_ns();
	tsp = bpf_map_lookup_elem(&timestamps, &sk);
	if (tsp && ts > *tsp)
		delta_us = (ts - *tsp) / 1000;

	if (!lmp_reserve(e))
		goto update;
	e->skaddr = sk;
	e->ts_us = ts / 1000;
	e->delta_us = delta_us;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->oldstate = ctx->oldstate;
	e->newstate = ctx->newstate;
	e->family = family;
	e->sport = sport;
	e->dport = dport;
	/* the verifier refuses variable-offset loads from ctx: copy with a helper */
	if (family == AF_INET) {
		bpf_probe_read_kernel(e->saddr, 4, ctx->saddr);
		bpf_probe_read_kernel(e->daddr, 4, ctx->daddr);
	} else {
		bpf_probe_read_kernel(e->saddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(e->daddr, 16, ctx->daddr_v6);
	}
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);

update:
	if (ctx->newstate == TCP_CLOSE)
		bpf_map_delete_elem(&timestamps, &sk);
	else
		bpf_map_update_elem(&timestamps, &sk, &ts, BPF_ANY);
	return 0;
}

/// Trace TCP socket state changes with the time spent in each state
char LICENSE[] SEC("license") = "Dual BSD/GPL";
