/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __MOUNTSNOOP_H
#define __MOUNTSNOOP_H

#define TASK_COMM_LEN 16
#define FS_NAME_LEN 16
#define PATH_LEN 256
#define DATA_LEN 256

/* Which syscall. Prefixed to keep clear of vmlinux.h enumerators;
 * decoded as "MNT_OP_MOUNT(0)" / "MNT_OP_UMOUNT(1)". */
enum mnt_op {
	MNT_OP_MOUNT = 0,
	MNT_OP_UMOUNT = 1,
};

/* One mount() or umount2() call. Layout (offset/size): pid 0/4, tid 4/4,
 * mnt_ns 8/4, ret 12/4, delta_ns 16/8, flags 24/8, op 32/4, comm 36/16,
 * fs 52/16, src 68/256, dest 324/256, data 580/256, (4 bytes tail
 * padding); sizeof == 840. */
struct event {
	int pid;			/* process id (tgid) */
	int tid;			/* thread id */
	unsigned int mnt_ns;		///< mount namespace inode number (as in /proc/PID/ns/mnt) @role id
	int ret;			///< syscall return: 0 or -errno @role errno
	unsigned long long delta_ns;	///< syscall latency, enter -> exit @role duration @unit ns
	unsigned long long flags;	///< mount: MS_* flags; umount: MNT_* / UMOUNT_* flags @flags mount
	enum mnt_op op;			/* MNT_OP_MOUNT or MNT_OP_UMOUNT */
	char comm[TASK_COMM_LEN];	/* command name */
	char fs[FS_NAME_LEN];		/* mount: filesystem type (e.g. "tmpfs"); umount: empty */
	char src[PATH_LEN];		/* mount: source device or name; umount: empty */
	char dest[PATH_LEN];		/* mount: target directory; umount: the unmounted path */
	char data[DATA_LEN];		/* mount: option string (e.g. "size=1m"), if any; umount: empty */
};

#endif /* __MOUNTSNOOP_H */
