/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __EXITSNOOP_H
#define __EXITSNOOP_H

#define TASK_COMM_LEN 16

/* One process (or, with trace_threads, thread) exit. Layout (offset/size):
 * pid 0/4, ppid 4/4, tid 8/4, exit_code 12/4, sig 16/4, core_dump 20/1,
 * (3 bytes implicit padding), duration_ns 24/8, comm 32/16;
 * sizeof == 48. */
struct event {
	int pid;			/* process id (tgid) */
	int ppid;			/* parent process id (real_parent->tgid) */
	int tid;			/* thread id (== pid for a whole-process exit) */
	int exit_code;			/* exit status, (task->exit_code >> 8) & 0xff */
	int sig;			///< terminating signal, task->exit_code & 0x7f (0 = none) @role signal
	bool core_dump;			/* a core dump was written (task->exit_code & 0x80) */
	unsigned long long duration_ns;	///< lifetime: fork (task->start_time) -> exit @role duration @unit ns
	char comm[TASK_COMM_LEN];	/* command name */
};

#endif /* __EXITSNOOP_H */
