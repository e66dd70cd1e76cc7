// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Port of LMP procstat (kprobe/finish_task_switch) to tp_btf/sched_switch:
 * reports the memory footprint of the task being switched out. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "procstat.h"
#include "lmp_events.bpf.h"

/* Keeps struct event in the object's BTF (the ring buffer carries it), the
 * same declaration eunomia-bpf's ecc appends when it builds a package. */
const volatile struct event * __eunomia_dummy_event_ptr __attribute__((unused));

#define MAX_ENTRIES 10240
#define PAGE_SHIFT_4K 12
#define PF_KTHREAD 0x00200000	/* include/linux/sched.h */

/* mm counter indexes (enum in include/linux/mm_types_task.h) */
#define IDX_FILEPAGES 0
#define IDX_ANONPAGES 1
#define IDX_SWAPENTS 2
#define IDX_SHMEMPAGES 3

/// Only report this process (matches tgid or thread id; 0 = all)
/// @cmdarg {"default": 0, "short": "p", "long": "pid"}
const volatile pid_t filtered_pid = 0;
/// Minimum interval between two reports for the same thread, in milliseconds
/// @cmdarg {"default": 100, "short": "i", "long": "interval"}
const volatile unsigned long long min_interval_ms = 100;

/* thread id -> ktime (ns) of the last emitted event for that thread */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} last_emit SEC(".maps");

/* Before 6.2: struct mm_rss_stat { atomic_long_t count[NR_MM_COUNTERS]; }
 * embedded as mm->rss_stat. Since 6.2: struct percpu_counter
 * rss_stat[NR_MM_COUNTERS]. libbpf strips the ___old/___new suffixes when
 * matching against kernel BTF. */
struct mm_rss_stat___old {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

struct mm_struct___new {
	struct percpu_counter rss_stat[4];
} __attribute__((preserve_access_index));

/* idx must be a compile-time constant so that CO-RE relocates the array
 * element offset (the element size differs between the two layouts). */
#define READ_MM_COUNTER(mm, idx)						\
	({									\
		long long __v;							\
		if (bpf_core_type_exists(struct mm_rss_stat___old))		\
			__v = BPF_CORE_READ((struct mm_struct___old *)(mm),	\
					    rss_stat.count[idx].counter);	\
		else								\
			__v = BPF_CORE_READ((struct mm_struct___new *)(mm),	\
					    rss_stat[idx].count);		\
		__v < 0 ? 0 : __v;						\
	})

static __always_inline void fill_memory(struct event *e, struct mm_struct *mm)
{
	long long file, anon, shmem;

	file = READ_MM_COUNTER(mm, IDX_FILEPAGES);
	anon = READ_MM_COUNTER(mm, IDX_ANONPAGES);
	shmem = READ_MM_COUNTER(mm, IDX_SHMEMPAGES);
	e->vsize = BPF_CORE_READ(mm, total_vm);
	e->rssfile = file;
	e->rssanon = anon;
	e->rssshmem = shmem;
	e->size = file + anon + shmem;
	e->vswap = READ_MM_COUNTER(mm, IDX_SWAPENTS);
	e->vdata = BPF_CORE_READ(mm, data_vm);
	e->vstk = BPF_CORE_READ(mm, stack_vm);
	e->vpte = BPF_CORE_READ(mm, pgtables_bytes.counter) >> PAGE_SHIFT_4K;
}

static __always_inline void fill_task(struct event *e, struct task_struct *task)
{
	e->pid = BPF_CORE_READ(task, tgid);
	e->tid = BPF_CORE_READ(task, pid);
	BPF_CORE_READ_INTO(&e->comm, task, comm);
	e->nvcsw = BPF_CORE_READ(task, nvcsw);
	e->nivcsw = BPF_CORE_READ(task, nivcsw);
}

static __always_inline bool filtered_out(struct task_struct *task)
{
	return filtered_pid && BPF_CORE_READ(task, pid) != filtered_pid &&
	       BPF_CORE_READ(task, tgid) != filtered_pid;
}

/* 6.18: btf_trace_sched_switch(void *, bool preempt, struct task_struct *prev,
 *                              struct task_struct *next, unsigned int prev_state) */
SEC("tp_btf/sched_switch")
int BPF_PROG(handle_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	struct mm_struct *mm;
	struct event *e;
	__u64 now, *last;
	__u32 tid;

	if (filtered_out(prev))
		return 0;
	mm = BPF_CORE_READ(prev, mm);
	if (!mm)
		return 0;	/* kernel thread */

	tid = BPF_CORE_READ(prev, pid);
	now = bpf_ktime_get_ns();
	last = bpf_map_lookup_elem(&last_emit, &tid);
	if (last && now - *last < min_interval_ms * 1000000ULL)
		return 0;
	bpf_map_update_elem(&last_emit, &tid, &now, BPF_ANY);

	if (!lmp_reserve(e))
		return 0;
	fill_task(e, prev);
	fill_memory(e, mm);
	e->exited = false;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Every thread's exit forgets its rate limit; the last thread's reports the process gone (its
 * row is marked exited rather than left looking alive). do_exit() has counted the thread out of
 * signal->live before this tracepoint on every kernel; whether mm is still there depends on the
 * version, so the memory fields are those of the last report when it is not (zeros: the TUI
 * keeps the values it had). Only the task argument is read: older kernels pass no more. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	struct mm_struct *mm;
	struct event *e;
	__u32 tid;

	tid = BPF_CORE_READ(task, pid);
	bpf_map_delete_elem(&last_emit, &tid);
	if (filtered_out(task) || BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (BPF_CORE_READ(task, flags) & PF_KTHREAD)
		return 0;

	if (!lmp_reserve(e))
		return 0;
	fill_task(e, task);
	mm = BPF_CORE_READ(task, mm);
	if (mm)
		fill_memory(e, mm);
	e->exited = true;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/// Per-process memory and context-switch statistics sampled at sched_switch
char LICENSE[] SEC("license") = "Dual BSD/GPL";
