/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __SIGSNOOP_H
#define __SIGSNOOP_H

#define TASK_COMM_LEN 16

/* One signal sent. Layout (offset/size): pid 0/4, tpid 4/4, sig 8/4,
 * ret 12/4, comm 16/16; sizeof == 32. */
struct event {
	int pid;		/* sender process id (tgid) */
	int tpid;		/* target pid (tid for tkill/tgkill) */
	int sig;		///< signal number @role signal
	int ret;		/* default mode: signal_generate result code
				 * (0 delivered, 1 ignored, 2 already pending,
				 * 3 overflow fail, 4 lose info);
				 * kill mode: syscall return (0 or -errno) */
	char comm[TASK_COMM_LEN];	/* sender command name */
};

#endif /* __SIGSNOOP_H */
