// SPDX-License-Identifier: GPL-2.0
/* Based on libbpf-tools runqslower.bpf.c, Copyright (c) 2019 Facebook */
/* Run-queue waits longer than a threshold, one event each (tp_btf port of
 * libbpf-tools runqslower). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "runqslower.h"
#include "lmp_events.bpf.h"
#include "lmp_helpers.bpf.h"

/* Keeps struct event in the object's BTF (the ring buffer carries it), the
 * same declaration eunomia-bpf's ecc appends when it builds a package. */
const volatile struct event * __eunomia_dummy_event_ptr __attribute__((unused));

#define MAX_ENTRIES 10240
#define TASK_RUNNING 0

/// Only report waits longer than this, in microseconds (0 = report every wait)
/// @cmdarg {"default": 10000, "short": "m", "long": "min_us"}
const volatile unsigned long long min_us = 10000;
/// Only trace this process id (tgid; 0 = all)
/// @cmdarg {"default": 0, "short": "p", "long": "pid"}
const volatile pid_t targ_tgid = 0;
/// Only trace this thread id (0 = all)
/// @cmdarg {"default": 0, "short": "t", "long": "tid"}
const volatile pid_t targ_pid = 0;

#include "lmp_start.bpf.h"

static __always_inline int trace_enqueue(__u32 tgid, __u32 pid)
{
	__u64 ts;

	if (!pid)
		return 0;
	if (targ_tgid && targ_tgid != tgid)
		return 0;
	if (targ_pid && targ_pid != pid)
		return 0;

	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &pid, &ts, BPF_ANY);
	return 0;
}

static __always_inline int handle_switch(struct task_struct *prev,
					 struct task_struct *next)
{
	struct event *e;
	__u64 *tsp, delta_us;
	__u32 pid;

	/* a preempted task goes straight back on the run queue */
	if (get_task_state(prev) == TASK_RUNNING)
		trace_enqueue(BPF_CORE_READ(prev, tgid), BPF_CORE_READ(prev, pid));

	pid = BPF_CORE_READ(next, pid);
	tsp = bpf_map_lookup_elem(&start, &pid);
	if (!tsp)
		return 0;
	delta_us = (bpf_ktime_get_ns() - *tsp) / 1000;
	if ((__s64)delta_us < 0 || (min_us && delta_us <= min_us))
		goto cleanup;

	if (!lmp_reserve(e))
		goto cleanup;
	e->pid = pid;
	e->prev_pid = BPF_CORE_READ(prev, pid);
	e->delta_us = delta_us;
	BPF_CORE_READ_STR_INTO(&e->task, next, comm);
	BPF_CORE_READ_STR_INTO(&e->prev_task, prev, comm);
	bpf_ringbuf_submit(e, 0);

cleanup:
	bpf_map_delete_elem(&start, &pid);
	return 0;
}

#include "lmp_runq.bpf.h"

/// Trace run-queue waits longer than a threshold (scheduler latency outliers)
char LICENSE[] SEC("license") = "GPL";
