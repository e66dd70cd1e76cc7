/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __PERFSNOOP_H
#define __PERFSNOOP_H

#define TASK_COMM_LEN 16
#define NAME_MAX 255

/* The record of libbpf-tools' opensnoop (less its ts, callers and mode). */
struct event {
	int pid;
	int tid;
	unsigned int uid;
	int ret;
	int flags;
	char comm[TASK_COMM_LEN];
	char fname[NAME_MAX];
};

#endif /* __PERFSNOOP_H */
