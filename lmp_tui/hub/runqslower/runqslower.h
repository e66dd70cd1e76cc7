/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __RUNQSLOWER_H
#define __RUNQSLOWER_H

#define TASK_COMM_LEN 16

/* One slow run-queue wait. Layout (offset/size): pid 0/4, prev_pid 4/4,
 * delta_us 8/8, task 16/16, prev_task 32/16; sizeof == 48. */
struct event {
	int pid;			/* thread id that waited and now runs */
	int prev_pid;			/* thread id switched out to make room for it */
	unsigned long long delta_us;	///< time runnable but waiting for the CPU @role duration @unit us
	char task[TASK_COMM_LEN];	/* command name of pid */
	char prev_task[TASK_COMM_LEN];	/* command name of prev_pid */
};

#endif /* __RUNQSLOWER_H */
