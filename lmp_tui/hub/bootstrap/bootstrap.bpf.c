// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Based on libbpf-bootstrap bootstrap.bpf.c, Copyright (c) 2020 Facebook */
/* libbpf-bootstrap's bootstrap example: process exec and exit events,
 * tracepoint-only. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "bootstrap.h"
#include "lmp_events.bpf.h"

/* Keeps struct event in the object's BTF (the ring buffer carries it), the
 * same declaration eunomia-bpf's ecc appends when it builds a package. */
const volatile struct event * __eunomia_dummy_event_ptr __attribute__((unused));

/// Only report exits of processes that lived at least this long, in ns (0 = report all execs and exits)
/// @cmdarg {"default": 0, "short": "d", "long": "duration"}
const volatile unsigned long long min_duration_ns = 0;

/* pid -> exec timestamp (ns) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, pid_t);
	__type(value, __u64);
} exec_start SEC(".maps");

/* sched_process_exec format (6.18): __data_loc filename @8, pid @12,
 * old_pid @16 == struct trace_event_raw_sched_process_exec. */
SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task;
	unsigned int fname_off;
	struct event *e;
	pid_t pid;
	__u64 ts;

	pid = bpf_get_current_pid_tgid() >> 32;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&exec_start, &pid, &ts, BPF_ANY);

	/* with a duration filter only exits are reported */
	if (min_duration_ns)
		return 0;

	if (!lmp_reserve(e))
		return 0;

	task = (struct task_struct *)bpf_get_current_task();
	e->exit_event = false;
	e->pid = pid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	fname_off = ctx->__data_loc_filename & 0xFFFF;
	bpf_probe_read_kernel_str(&e->filename, sizeof(e->filename),
				  (void *)ctx + fname_off);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* sched_process_exit format (6.18): comm[16] @8, pid @24, prio @28,
 * group_dead (bool) @32 == struct trace_event_raw_sched_process_exit.
 * The context is not read here; pid/tid come from the current task. */
SEC("tp/sched/sched_process_exit")
int handle_exit(void *ctx)
{
	struct task_struct *task;
	struct event *e;
	pid_t pid, tid;
	__u64 id, ts, *start_ts, duration_ns = 0;

	id = bpf_get_current_pid_tgid();
	pid = id >> 32;
	tid = (__u32)id;

	/* ignore thread exits */
	if (pid != tid)
		return 0;

	start_ts = bpf_map_lookup_elem(&exec_start, &pid);
	if (start_ts)
		duration_ns = bpf_ktime_get_ns() - *start_ts;
	else if (min_duration_ns)
		return 0;
	bpf_map_delete_elem(&exec_start, &pid);

	if (min_duration_ns && duration_ns < min_duration_ns)
		return 0;

	if (!lmp_reserve(e))
		return 0;

	task = (struct task_struct *)bpf_get_current_task();
	e->exit_event = true;
	e->duration_ns = duration_ns;
	e->pid = pid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->exit_code = (BPF_CORE_READ(task, exit_code) >> 8) & 0xff;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/// Trace process start (exec) and exit with lifetime and exit code
char LICENSE[] SEC("license") = "Dual BSD/GPL";
