// SPDX-License-Identifier: GPL-2.0
/* Based on libbpf-tools syscount.bpf.c, Copyright (c) 2020 Anton Protopopov */
/* Syscall counts and latencies per syscall number, sampled from a map. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "syscount.h"
#include "lmp_helpers.bpf.h"

#define MAX_ENTRIES 10240
#define MAX_SYSCALLS 1024
#define MAX_ERRNO 4095

/// Only count syscalls of this process id (tgid; 0 = all)
/// @cmdarg {"default": 0, "short": "p", "long": "pid"}
const volatile pid_t targ_pid = 0;
/// Only count failed syscalls (those returning -errno)
/// @cmdarg {"default": false, "short": "x", "long": "failed"}
const volatile bool filter_failed = false;
/// Only count calls that returned this error number, e.g. 2 for ENOENT (0 = any)
/// @cmdarg {"default": 0, "short": "e", "long": "errno"}
const volatile int filter_errno = 0;

#include "lmp_start.bpf.h"

static struct data zero;

/// Per-syscall counters, keyed by syscall number (__u32)
/// @sample {"interval": 1000, "type": "default_kv"}
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, struct data);
} data SEC(".maps");

/* raw_syscalls/sys_enter format (6.18): id @8 (long), args[6] @16
 * == struct trace_event_raw_sys_enter. */
SEC("tracepoint/raw_syscalls/sys_enter")
int sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	__u64 ts;

	if (targ_pid && targ_pid != (id >> 32))
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &tid, &ts, BPF_ANY);
	return 0;
}

/* raw_syscalls/sys_exit format (6.18): id @8 (long), ret @16 (long)
 * == struct trace_event_raw_sys_exit. */
SEC("tracepoint/raw_syscalls/sys_exit")
int sys_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	long nr = ctx->id;
	long ret = ctx->ret;
	bool failed = ret < 0 && ret >= -MAX_ERRNO;
	struct data *val;
	__u64 *tsp, delta;
	__u32 key;

	if (targ_pid && targ_pid != (id >> 32))
		return 0;
	tsp = bpf_map_lookup_elem(&start, &tid);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&start, &tid);

	if (nr < 0)	/* -1: not a syscall (e.g. after a ptrace skip) */
		return 0;
	if (filter_failed && !failed)
		return 0;
	if (filter_errno && ret != -filter_errno)
		return 0;

	key = (__u32)nr;
	val = lmp_lookup_or_init(&data, &key, &zero);
	if (!val)
		return 0;
	__sync_fetch_and_add(&val->count, 1);
	if (failed)
		__sync_fetch_and_add(&val->errors, 1);
	__sync_fetch_and_add(&val->total_ns, delta);
	if (delta > val->max_ns)
		val->max_ns = delta;
	return 0;
}

/// Count syscalls and their latency, per syscall number
char LICENSE[] SEC("license") = "GPL";
