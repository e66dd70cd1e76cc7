// SPDX-License-Identifier: GPL-2.0
/* opensnoop the way libbpf-tools and many eunomia packages export events: a perf event array
 * written with bpf_perf_event_output() (before ring buffers). The tests and bench/ingest.py
 * use it for the perf buffer path; tracepoints only, so it runs on kernels without kprobes.
 * Based on libbpf-tools opensnoop.bpf.c, Copyright (c) 2019 Facebook, 2020 Netflix. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "perfsnoop.h"

/// Only trace this process id (tgid; 0 = all)
/// @cmdarg {"default": 0, "short": "p", "long": "pid"}
const volatile pid_t targ_pid = 0;

struct args_t {
	const char *fname;
	int flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct args_t);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

/* too large for the BPF stack: a per-CPU scratch record */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct event);
} scratch SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int openat_entry(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct args_t args = {};

	if (targ_pid && targ_pid != (pid_t)(id >> 32))
		return 0;
	args.fname = (const char *)ctx->args[1];
	args.flags = (int)ctx->args[2];
	bpf_map_update_elem(&start, &tid, &args, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, zero = 0;
	struct args_t *ap;
	struct event *e;

	ap = bpf_map_lookup_elem(&start, &tid);
	if (!ap)
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		goto cleanup;
	__builtin_memset(e, 0, sizeof(*e));
	e->pid = id >> 32;
	e->tid = tid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = ctx->ret;
	e->flags = ap->flags;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(&e->fname, sizeof(e->fname), ap->fname);
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, sizeof(*e));
cleanup:
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

/// Trace openat() through a perf event array
char LICENSE[] SEC("license") = "GPL";
