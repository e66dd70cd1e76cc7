/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The output side every built-in ring-buffer program shares:
 *  - `events`, the ring buffer `lmp run` and the TUI read;
 *  - `drops`, a per-CPU count of records `events` had no room for, so losses are known exactly
 *    (the runtime reads it and reports drops with every batch).
 * Include after vmlinux.h and bpf/bpf_helpers.h; define LMP_EVENTS_BYTES first for another size.
 *
 * Sizing (bench/ingest.py, `max` rows): a ring should hold about 16 ms of one CPU producing as
 * fast as it can, so that neither lmp's drain thread (which lets records gather for up to 1 ms)
 * nor a busy CPU makes it overflow. sigsnoop peaks near 2 M signals/s on one CPU, 40 bytes each
 * in the ring: 80 MB/s, 1 MiB holds 13 ms; the other programs' triggers (exec, exit, mount, TCP
 * state changes, context switches rate-limited per pid) are slower still. opensnoop, 304 bytes
 * per open at up to 0.9 M opens/s, defines 4 MiB.
 */
#ifndef __LMP_EVENTS_BPF_H
#define __LMP_EVENTS_BPF_H

#ifndef LMP_EVENTS_BYTES
#define LMP_EVENTS_BYTES (1024 * 1024)
#endif

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, LMP_EVENTS_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline void lmp_count_drop(void)
{
	__u32 zero = 0;
	__u64 *cnt = bpf_map_lookup_elem(&drops, &zero);

	/* per-CPU slot: a plain increment cannot race */
	if (cnt)
		*cnt += 1;
}

/*
 * Reserve a zeroed `*e` in `events` (ring buffer memory is not zeroed, and padding or string
 * tails would leak old bytes), or count a drop. Evaluates to `e`, NULL on a drop.
 */
#define lmp_reserve(e)                                                   \
	({                                                                   \
		(e) = bpf_ringbuf_reserve(&events, sizeof(*(e)), 0);             \
		if (e)                                                           \
			__builtin_memset((e), 0, sizeof(*(e)));                      \
		else                                                             \
			lmp_count_drop();                                            \
		(e);                                                             \
	})

#endif /* __LMP_EVENTS_BPF_H */
