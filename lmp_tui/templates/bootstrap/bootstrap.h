/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __BOOTSTRAP_H
#define __BOOTSTRAP_H

#define TASK_COMM_LEN 16
#define MAX_FILENAME_LEN 127

/* One record of the `events` ring buffer. `lmp build` exports this struct
 * (it is the header's only struct), so `lmp run` prints its fields and
 * `lmp gen-wasm-skel` generates the printing code of app.c from it. */
struct event {
	int pid;				/* process id (tgid) */
	int ppid;				/* parent process id */
	unsigned int exit_code;			/* exit status, exit events only */
	unsigned long long duration_ns;		/* exec -> exit lifetime, exit events only */
	char comm[TASK_COMM_LEN];		/* command name */
	char filename[MAX_FILENAME_LEN];	/* executed file, exec events only */
	bool exit_event;			/* false = exec, true = exit */
};

#endif /* __BOOTSTRAP_H */
