/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __SYSCOUNT_H
#define __SYSCOUNT_H

/* Per-syscall totals, the value of the sampled `data` map (key: __u32
 * syscall number). Layout (offset/size): count 0/8, errors 8/8,
 * total_ns 16/8, max_ns 24/8; sizeof == 32. */
struct data {
	__u64 count;		/* completed calls */
	__u64 errors;		/* calls that returned -errno (-4095..-1) */
	__u64 total_ns;		/* summed latency, sys_enter -> sys_exit, in ns */
	__u64 max_ns;		/* slowest call, in ns */
};

#endif /* __SYSCOUNT_H */
