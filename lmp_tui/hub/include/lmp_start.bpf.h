/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `start`: thread id -> when what a program times began (ns), e.g. a syscall's entry or a
 * task's wakeup, for the programs that measure intervals. MAX_ENTRIES threads at most.
 */
#ifndef __LMP_START_BPF_H
#define __LMP_START_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

#endif /* __LMP_START_BPF_H */
