// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Based on libbpf-tools sigsnoop.bpf.c, Copyright (c) 2021 Hengqi Chen */
/* Signal tracer, tracepoint-only port of libbpf-tools sigsnoop. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sigsnoop.h"
#include "lmp_events.bpf.h"

/* Keeps struct event in the object's BTF (the ring buffer carries it), the
 * same declaration eunomia-bpf's ecc appends when it builds a package. */
const volatile struct event * __eunomia_dummy_event_ptr __attribute__((unused));

#define MAX_ENTRIES 10240

/// Only report signals sent by this process id (0 = all)
/// @cmdarg {"default": 0, "short": "p", "long": "pid"}
const volatile pid_t filtered_pid = 0;
/// Only report this signal number (0 = all)
/// @cmdarg {"default": 0, "short": "s", "long": "signal"}
const volatile int target_signal = 0;
/// Only report signals that failed (non-zero result)
/// @cmdarg {"default": false, "short": "x", "long": "failed"}
const volatile bool failed_only = false;
/// Only trace kill/tkill/tgkill syscalls instead of every generated signal
/// @cmdarg {"default": false, "short": "k", "long": "kill"}
const volatile bool kill_only = false;

/* kill mode: tid -> event pending between sys_enter_* and sys_exit_* */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u32);
	__type(value, struct event);
} values SEC(".maps");

static __always_inline int probe_entry(pid_t tpid, int sig)
{
	struct event ev = {};
	__u64 pid_tgid;
	__u32 pid, tid;

	if (!kill_only)
		return 0;
	if (target_signal && sig != target_signal)
		return 0;

	pid_tgid = bpf_get_current_pid_tgid();
	pid = pid_tgid >> 32;
	tid = (__u32)pid_tgid;
	if (filtered_pid && pid != filtered_pid)
		return 0;

	ev.pid = pid;
	ev.tpid = tpid;
	ev.sig = sig;
	bpf_get_current_comm(ev.comm, sizeof(ev.comm));
	bpf_map_update_elem(&values, &tid, &ev, BPF_ANY);
	return 0;
}

static __always_inline int probe_exit(int ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct event *eventp, *e;

	if (!kill_only)
		return 0;

	eventp = bpf_map_lookup_elem(&values, &tid);
	if (!eventp)
		return 0;

	if (failed_only && ret >= 0)
		goto cleanup;

	if (!lmp_reserve(e))
		goto cleanup;
	e->pid = eventp->pid;
	e->tpid = eventp->tpid;
	e->sig = eventp->sig;
	e->ret = ret;
	__builtin_memcpy(e->comm, eventp->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);

cleanup:
	bpf_map_delete_elem(&values, &tid);
	return 0;
}

/* Syscall tracepoint formats (6.18): sys_enter_kill/tkill: pid @16, sig @24
 * (8 bytes each); sys_enter_tgkill: tgid @16, pid @24, sig @32;
 * sys_exit_*: ret @16. trace_event_raw_sys_enter/exit match this. */

/// @when kill_only
SEC("tracepoint/syscalls/sys_enter_kill")
int kill_entry(struct trace_event_raw_sys_enter *ctx)
{
	pid_t tpid = (pid_t)ctx->args[0];
	int sig = (int)ctx->args[1];

	return probe_entry(tpid, sig);
}

/// @when kill_only
SEC("tracepoint/syscalls/sys_exit_kill")
int kill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return probe_exit((int)ctx->ret);
}

/// @when kill_only
SEC("tracepoint/syscalls/sys_enter_tkill")
int tkill_entry(struct trace_event_raw_sys_enter *ctx)
{
	pid_t tpid = (pid_t)ctx->args[0];
	int sig = (int)ctx->args[1];

	return probe_entry(tpid, sig);
}

/// @when kill_only
SEC("tracepoint/syscalls/sys_exit_tkill")
int tkill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return probe_exit((int)ctx->ret);
}

/// @when kill_only
SEC("tracepoint/syscalls/sys_enter_tgkill")
int tgkill_entry(struct trace_event_raw_sys_enter *ctx)
{
	pid_t tpid = (pid_t)ctx->args[1];
	int sig = (int)ctx->args[2];

	return probe_entry(tpid, sig);
}

/// @when kill_only
SEC("tracepoint/syscalls/sys_exit_tgkill")
int tgkill_exit(struct trace_event_raw_sys_exit *ctx)
{
	return probe_exit((int)ctx->ret);
}

/* signal_generate format (6.18): sig @8, errno @12, code @16, comm[16] @20,
 * pid @36, group @40, result @44 == struct trace_event_raw_signal_generate. */

/// @when !kill_only
SEC("tracepoint/signal/signal_generate")
int sig_trace(struct trace_event_raw_signal_generate *ctx)
{
	struct event *e;
	pid_t tpid = ctx->pid;
	int ret = ctx->result;
	int sig = ctx->sig;
	__u32 pid;

	if (kill_only)
		return 0;
	if (failed_only && ret == 0)
		return 0;
	if (target_signal && sig != target_signal)
		return 0;

	pid = bpf_get_current_pid_tgid() >> 32;
	if (filtered_pid && pid != filtered_pid)
		return 0;

	if (!lmp_reserve(e))
		return 0;
	e->pid = pid;
	e->tpid = tpid;
	e->sig = sig;
	e->ret = ret;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/// Trace signals issued in the system
char LICENSE[] SEC("license") = "Dual BSD/GPL";
