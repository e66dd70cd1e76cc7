/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Helpers several built-in programs need, kept once here as libbpf-tools keeps them in
 * maps.bpf.h, bits.bpf.h and core_fixes.bpf.h. Include after vmlinux.h, bpf/bpf_helpers.h and
 * bpf/bpf_core_read.h; the Hub is built with -I lmp_tui/hub/include (make hub).
 */
#ifndef __LMP_HELPERS_BPF_H
#define __LMP_HELPERS_BPF_H

#include <bpf/bpf_core_read.h>

/* The entry for `key` in `map`, made from `init` when there is none yet (libbpf-tools'
 * bpf_map_lookup_or_try_init): NULL only when the map is full. */
static __always_inline void *lmp_lookup_or_init(void *map, const void *key, const void *init)
{
	void *val = bpf_map_lookup_elem(map, key);

	if (val)
		return val;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* Integer log2, rounded down (log2_u32(0) is 0): the slot of a log2 histogram. */
static __always_inline __u64 log2_u32(__u32 v)
{
	__u32 shift, r;

	r = (v > 0xFFFF) << 4; v >>= r;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u64 log2_u64(__u64 v)
{
	__u32 hi = v >> 32;

	if (hi)
		return log2_u32(hi) + 32;
	return log2_u32(v);
}

/* task->state became task->__state (unsigned int) in 5.14: read whichever this kernel has. */
struct task_struct___o {
	volatile long int state;
} __attribute__((preserve_access_index));

struct task_struct___x {
	unsigned int __state;
} __attribute__((preserve_access_index));

static __always_inline __s64 get_task_state(void *task)
{
	struct task_struct___x *t = task;

	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___o *)task, state);
}

#endif /* __LMP_HELPERS_BPF_H */
