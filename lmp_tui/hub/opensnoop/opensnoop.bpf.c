// SPDX-License-Identifier: GPL-2.0
/* Based on libbpf-tools opensnoop.bpf.c, Copyright (c) 2019 Facebook,
 * Copyright (c) 2020 Netflix, and eunomia-bpf's opensnoop example. */
/* File open tracer: openat() and openat2() syscalls, tracepoint-only. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "opensnoop.h"
/* 304 bytes a record at up to 0.9 M opens/s on one CPU: 16 ms (lmp_events.bpf.h) */
#define LMP_EVENTS_BYTES (4 * 1024 * 1024)
#include "lmp_events.bpf.h"

/* Keeps struct event in the object's BTF (the ring buffer carries it), the
 * same declaration eunomia-bpf's ecc appends when it builds a package. */
const volatile struct event * __eunomia_dummy_event_ptr __attribute__((unused));

#define MAX_ENTRIES 10240

/// Only trace this process id (tgid; 0 = all)
/// @cmdarg {"default": 0, "short": "p", "long": "pid"}
const volatile pid_t targ_pid = 0;
/// Only trace this thread id (0 = all)
/// @cmdarg {"default": 0, "short": "t", "long": "tid"}
const volatile pid_t targ_tid = 0;
/// Only trace this user id (-1 = all)
/// @cmdarg {"default": -1, "short": "u", "long": "uid"}
const volatile int targ_uid = -1;
/// Only report failed opens (ret < 0)
/// @cmdarg {"default": false, "short": "x", "long": "failed"}
const volatile bool failed_only = false;

/* What sys_enter_* saw, kept until the matching sys_exit_*. */
struct args_t {
	const char *fname;
	int flags;
};

/* tid -> filename pointer and flags, between enter and exit */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u32);
	__type(value, struct args_t);
} start SEC(".maps");

static __always_inline bool trace_allowed(__u32 pid, __u32 tid, __u32 uid)
{
	if (targ_pid && targ_pid != pid)
		return false;
	if (targ_tid && targ_tid != tid)
		return false;
	if (targ_uid != -1 && (__u32)targ_uid != uid)
		return false;
	return true;
}

static __always_inline int trace_enter(const char *fname, int flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	__u32 uid = (__u32)bpf_get_current_uid_gid();
	struct args_t args = {};

	if (!trace_allowed(pid, tid, uid))
		return 0;
	args.fname = fname;
	args.flags = flags;
	bpf_map_update_elem(&start, &tid, &args, BPF_ANY);
	return 0;
}

static __always_inline int trace_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct args_t *ap;
	struct event *e;

	ap = bpf_map_lookup_elem(&start, &tid);
	if (!ap)
		return 0;
	if (failed_only && ret >= 0)
		goto cleanup;

	if (!lmp_reserve(e))
		goto cleanup;
	e->pid = id >> 32;
	e->tid = tid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ret = ret;
	e->flags = ap->flags;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(&e->fname, sizeof(e->fname), ap->fname);
	bpf_ringbuf_submit(e, 0);

cleanup:
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

/* Syscall tracepoint formats (6.18): sys_enter_openat: dfd @16,
 * filename @24, flags @32, mode @40; sys_enter_openat2: dfd @16,
 * filename @24, how @32, usize @40 (8 bytes each); sys_exit_*: ret @16.
 * trace_event_raw_sys_enter/exit match this. */

SEC("tracepoint/syscalls/sys_enter_openat")
int openat_entry(struct trace_event_raw_sys_enter *ctx)
{
	return trace_enter((const char *)ctx->args[1], (int)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return trace_exit(ctx->ret);
}

/// openat2 exists since Linux 5.6: an older kernel runs opensnoop without it, as libbpf-tools do
/// @optional
SEC("tracepoint/syscalls/sys_enter_openat2")
int openat2_entry(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how *how = (struct open_how *)ctx->args[2];
	__u64 flags = 0;

	bpf_probe_read_user(&flags, sizeof(flags), &how->flags);
	return trace_enter((const char *)ctx->args[1], (int)flags);
}

/// @optional
SEC("tracepoint/syscalls/sys_exit_openat2")
int openat2_exit(struct trace_event_raw_sys_exit *ctx)
{
	return trace_exit(ctx->ret);
}

/// Trace file opens (openat and openat2 syscalls)
char LICENSE[] SEC("license") = "GPL";
