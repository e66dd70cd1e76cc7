// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Ring buffer benchmark generator: one 64-byte event per getppid() of one process.
 *
 * bench/ingest.py fires sys_enter_getppid from a tight loop in a producer process pinned to one
 * CPU; the consumers (ours, and a C libbpf one) read `events` on the other CPU. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "ringgen.h"

/// Only this process emits events (the benchmark's producer)
const volatile int target_tgid = 0;
/// 0: adaptive wakeups (submit flags 0); 1: threshold wakeups (see wakeup_bytes, wakeup_every)
const volatile int wakeup_mode = 0;
/// Threshold mode: submit without a wakeup while fewer bytes than this wait in the ring
const volatile unsigned long long wakeup_bytes = 256 * 1024;
/// Threshold mode: above wakeup_bytes, force a wakeup on every Nth event (a power of 2)
const volatile unsigned int wakeup_every = 1024;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024); /* the Hub default (lmp_events.bpf.h) */
} events SEC(".maps");

/* reserve failures, the only way an event is lost */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* per-CPU sequence numbers: how many events each CPU tried to emit */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seqs SEC(".maps");

/* sys_enter_getppid's own format (tracefs events/syscalls/sys_enter_getppid/format): the 8
 * bytes of common fields, then __syscall_nr. The context is 12 bytes: reading
 * trace_event_raw_sys_enter->args from it is refused at attach time (EACCES). */
struct getppid_enter {
	__u64 common;
	int syscall_nr;
};

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(struct getppid_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 *seqp, *cnt, seq, avail = 0, flags = 0;
	struct event *e;
	__u32 zero = 0;

	if ((__u32)(id >> 32) != (__u32)target_tgid)
		return 0;
	seqp = bpf_map_lookup_elem(&seqs, &zero);
	if (!seqp)
		return 0;
	seq = *seqp;
	*seqp = seq + 1;

	if (wakeup_mode == 1) {
		avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
		if (avail >= wakeup_bytes && (seq & (wakeup_every - 1)) == 0)
			flags = BPF_RB_FORCE_WAKEUP;
		else
			flags = BPF_RB_NO_WAKEUP;
	}

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		cnt = bpf_map_lookup_elem(&drops, &zero);
		if (cnt)
			*cnt += 1;
		return 0;
	}
	e->seq = seq;
	e->ts_ns = bpf_ktime_get_ns();
	e->avail = avail;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->cpu = bpf_get_smp_processor_id();
	e->syscall_nr = ctx->syscall_nr;
	e->wakeup = flags;
	/* ring buffer memory is not zeroed */
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	bpf_ringbuf_submit(e, flags);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
