/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The scheduler events run-queue tools hook, as runqlat and runqslower (and libbpf-tools') share
 * them: a task is woken or created (it enters a run queue), or switched to (it leaves one).
 * Define trace_enqueue(tgid, pid) and handle_switch(prev, next) first, then include this.
 */
#ifndef __LMP_RUNQ_BPF_H
#define __LMP_RUNQ_BPF_H

#include <bpf/bpf_tracing.h>

/* 6.18: btf_trace_sched_wakeup(void *, struct task_struct *p) */
SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p)
{
	return trace_enqueue(BPF_CORE_READ(p, tgid), BPF_CORE_READ(p, pid));
}

/* 6.18: btf_trace_sched_wakeup_new(void *, struct task_struct *p) */
SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new, struct task_struct *p)
{
	return trace_enqueue(BPF_CORE_READ(p, tgid), BPF_CORE_READ(p, pid));
}

/* 6.18: btf_trace_sched_switch(void *, bool preempt, struct task_struct *prev,
 *                              struct task_struct *next, unsigned int prev_state) */
SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	return handle_switch(prev, next);
}

#endif /* __LMP_RUNQ_BPF_H */
