/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __BOOTSTRAP_H
#define __BOOTSTRAP_H

#define TASK_COMM_LEN 16
#define MAX_FILENAME_LEN 127

/* Process exec / exit. Layout (offset/size): pid 0/4, ppid 4/4,
 * exit_code 8/4, (4 bytes implicit padding), duration_ns 16/8, comm 24/16,
 * filename 40/127, exit_event 167/1; sizeof == 168. */
struct event {
	int pid;				/* process id (tgid) */
	int ppid;				/* parent process id (real_parent->tgid) */
	unsigned int exit_code;			/* exit status ((task->exit_code >> 8) & 0xff), exit events only */
	unsigned long long duration_ns;		///< exec -> exit lifetime, exit events only (0 if exec not seen) @role duration @unit ns
	char comm[TASK_COMM_LEN];		/* command name */
	char filename[MAX_FILENAME_LEN];	/* executed file, exec events only (empty on exit) */
	bool exit_event;			/* false = exec, true = exit */
};

#endif /* __BOOTSTRAP_H */
