/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __OPENSNOOP_H
#define __OPENSNOOP_H

#define TASK_COMM_LEN 16
#define NAME_MAX 255

/* One open()/openat()/openat2() call. Layout (offset/size): pid 0/4,
 * tid 4/4, uid 8/4, ret 12/4, flags 16/4, comm 20/16, fname 36/255,
 * (1 byte tail padding); sizeof == 292. */
struct event {
	int pid;			/* process id (tgid) */
	int tid;			/* thread id */
	unsigned int uid;		/* real user id of the caller */
	int ret;			///< file descriptor, or -errno on failure @role errno
	int flags;			///< open(2) flags, O_* @flags open
	char comm[TASK_COMM_LEN];	/* command name */
	char fname[NAME_MAX];		/* path as passed by the caller
					 * (relative to the cwd or dirfd) */
};

#endif /* __OPENSNOOP_H */
