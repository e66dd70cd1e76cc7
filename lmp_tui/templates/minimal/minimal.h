/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __MINIMAL_H
#define __MINIMAL_H

#define TASK_COMM_LEN 16

/* One record of the `events` ring buffer: who just called exec. */
struct event {
	int pid;			/* process id (tgid) */
	char comm[TASK_COMM_LEN];	/* command name after the exec */
};

#endif /* __MINIMAL_H */
