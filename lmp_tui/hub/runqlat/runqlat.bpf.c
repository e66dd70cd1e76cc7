// SPDX-License-Identifier: GPL-2.0
/* Based on libbpf-tools runqlat.bpf.c, Copyright (c) 2020 Wenbo Zhang */
/* Run-queue (scheduler) latency histogram, tp_btf port of libbpf-tools
 * runqlat: time from wakeup / preemption to actually running on a CPU. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "runqlat.h"
#include "lmp_helpers.bpf.h"

#define MAX_ENTRIES 10240
#define TASK_RUNNING 0

/// Print a histogram per process (tgid)
/// @cmdarg {"default": false, "short": "P", "long": "pids"}
const volatile bool targ_per_process = false;
/// Print a histogram per thread (tid)
/// @cmdarg {"default": false, "short": "L", "long": "tids"}
const volatile bool targ_per_thread = false;
/// Use milliseconds instead of microseconds for the histogram
/// @cmdarg {"default": false, "short": "m", "long": "milliseconds"}
const volatile bool targ_ms = false;
/// Only trace this process id (tgid; 0 = all)
/// @cmdarg {"default": 0, "short": "p", "long": "pid"}
const volatile pid_t targ_tgid = 0;

#include "lmp_start.bpf.h"

static struct hist zero;

/// @sample {"interval": 1000, "type": "log2_hist", "unit": "usecs"}
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u32);
	__type(value, struct hist);
} hists SEC(".maps");

static __always_inline int trace_enqueue(__u32 tgid, __u32 pid)
{
	__u64 ts;

	if (!pid)
		return 0;
	if (targ_tgid && targ_tgid != tgid)
		return 0;

	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &pid, &ts, BPF_ANY);
	return 0;
}

static __always_inline int handle_switch(struct task_struct *prev,
					 struct task_struct *next)
{
	struct hist *histp;
	__u64 *tsp, slot;
	__u32 pid, hkey;
	__s64 delta;

	if (get_task_state(prev) == TASK_RUNNING)
		trace_enqueue(BPF_CORE_READ(prev, tgid), BPF_CORE_READ(prev, pid));

	pid = BPF_CORE_READ(next, pid);
	tsp = bpf_map_lookup_elem(&start, &pid);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	if (delta < 0)
		goto cleanup;

	if (targ_per_process)
		hkey = BPF_CORE_READ(next, tgid);
	else if (targ_per_thread)
		hkey = pid;
	else
		hkey = 0;

	histp = lmp_lookup_or_init(&hists, &hkey, &zero);
	if (!histp)
		goto cleanup;

	if ((targ_per_process || targ_per_thread) && !histp->comm[0]) {
		if (targ_per_process)
			BPF_CORE_READ_INTO(&histp->comm, next, group_leader, comm);
		else
			BPF_CORE_READ_INTO(&histp->comm, next, comm);
	}

	if (targ_ms)
		delta /= 1000000U;
	else
		delta /= 1000U;
	slot = log2_u64(delta);
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	__sync_fetch_and_add(&histp->slots[slot], 1);

cleanup:
	bpf_map_delete_elem(&start, &pid);
	return 0;
}

#include "lmp_runq.bpf.h"

/// Summarize run queue (scheduler) latency as a histogram
char LICENSE[] SEC("license") = "GPL";
