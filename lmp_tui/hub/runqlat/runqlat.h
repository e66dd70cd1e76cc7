/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __RUNQLAT_H
#define __RUNQLAT_H

#define TASK_COMM_LEN 16
#define MAX_SLOTS 26

/* Run-queue latency histogram. Layout (offset/size): slots 0/104
 * (26 x __u32), comm 104/16; sizeof == 120. slots[i] counts latencies
 * in [2^i, 2^(i+1)) units (slot 0 also holds 0); the last slot also
 * holds everything larger. */
struct hist {
	__u32 slots[MAX_SLOTS];
	char comm[TASK_COMM_LEN];
};

#endif /* __RUNQLAT_H */
