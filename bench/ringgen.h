/* SPDX-License-Identifier: MIT */
/* The benchmark's event: 64 bytes (72 in the ring with its 8-byte header). */
#ifndef __RINGGEN_H
#define __RINGGEN_H

struct event {
	__u64 seq;        /* per-CPU attempt number: a missing one is a reserve failure */
	__u64 ts_ns;      /* bpf_ktime_get_ns() at the tracepoint (CLOCK_MONOTONIC) */
	__u64 avail;      /* ring bytes not yet consumed, before the reserve (threshold mode) */
	__u32 pid;
	__u32 tid;
	__u32 cpu;
	__s32 syscall_nr;
	__u64 wakeup;     /* the submit flag used: 0, BPF_RB_NO_WAKEUP or BPF_RB_FORCE_WAKEUP */
	__u8 pad[16];
};

#endif /* __RINGGEN_H */
