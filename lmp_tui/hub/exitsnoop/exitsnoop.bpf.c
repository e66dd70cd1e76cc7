// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Based on libbpf-tools exitsnoop.bpf.c, Copyright (c) 2021 Hengqi Chen */
/* Process exits with exit status, terminating signal and lifetime. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "exitsnoop.h"
#include "lmp_events.bpf.h"

/* Keeps struct event in the object's BTF (the ring buffer carries it), the
 * same declaration eunomia-bpf's ecc appends when it builds a package. */
const volatile struct event * __eunomia_dummy_event_ptr __attribute__((unused));

/// Only trace this process id (tgid; 0 = all)
/// @cmdarg {"default": 0, "short": "p", "long": "pid"}
const volatile pid_t targ_pid = 0;
/// Only report abnormal exits (non-zero exit status or killed by a signal)
/// @cmdarg {"default": false, "short": "x", "long": "failed"}
const volatile bool trace_failed_only = false;
/// Also report the exit of every thread, not only whole processes
/// @cmdarg {"default": false, "short": "t", "long": "threads"}
const volatile bool trace_threads = false;

/* sched_process_exit format (6.18): comm[16] @8, pid @24, prio @28,
 * group_dead (bool) @32 == struct trace_event_raw_sched_process_exit.
 * The context is not read here: everything comes from the current task,
 * whose exit_code do_exit() has set by now. */
SEC("tracepoint/sched/sched_process_exit")
int handle_exit(void *ctx)
{
	struct task_struct *task;
	struct event *e;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	int code;

	if (targ_pid && targ_pid != pid)
		return 0;
	/* a thread other than the main one: not a whole-process exit */
	if (!trace_threads && pid != tid)
		return 0;

	task = (struct task_struct *)bpf_get_current_task();
	code = BPF_CORE_READ(task, exit_code);
	if (trace_failed_only && code == 0)
		return 0;

	if (!lmp_reserve(e))
		return 0;
	e->pid = pid;
	e->tid = tid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->exit_code = (code >> 8) & 0xff;
	e->sig = code & 0x7f;
	e->core_dump = (code & 0x80) != 0;
	e->duration_ns = bpf_ktime_get_ns() - BPF_CORE_READ(task, start_time);
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/// Trace process exits: exit status, terminating signal and lifetime
char LICENSE[] SEC("license") = "Dual BSD/GPL";
