/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __PROCSTAT_H
#define __PROCSTAT_H

#define TASK_COMM_LEN 16

/* Memory / context-switch snapshot of the task that just left the CPU, or the last report of
 * a process whose last thread exited (exited = true).
 * Layout (offset/size): pid 0/4, comm 4/16, tid 20/4, nvcsw 24/8, nivcsw 32/8, vsize 40/8,
 * size 48/8, rssanon 56/8, rssfile 64/8, rssshmem 72/8, vswap 80/8, vdata 88/8, vstk 96/8,
 * vpte 104/8, exited 112/1 (7 bytes of padding); sizeof == 120.
 * Memory fields are in pages (the TUI shows bytes). pid and tid as in bcc's tools: the
 * process (task->tgid) and the thread (task->pid); the TUI lists processes, threads on demand. */
struct event {
	int pid;			///< process id (task->tgid) @role id
	char comm[TASK_COMM_LEN];	/* task command name */
	int tid;			///< thread id (task->pid) @role id
	long long nvcsw;		///< voluntary context switches so far @role counter
	long long nivcsw;		///< involuntary context switches so far @role counter
	long long vsize;		///< mm->total_vm @role gauge @unit pages
	long long size;			///< rssanon + rssfile + rssshmem @role gauge @unit pages
	long long rssanon;		///< MM_ANONPAGES @role gauge @unit pages
	long long rssfile;		///< MM_FILEPAGES @role gauge @unit pages
	long long rssshmem;		///< MM_SHMEMPAGES @role gauge @unit pages
	long long vswap;		///< MM_SWAPENTS @role gauge @unit pages
	long long vdata;		///< mm->data_vm @role gauge @unit pages
	long long vstk;			///< mm->stack_vm @role gauge @unit pages
	long long vpte;			///< mm->pgtables_bytes >> 12 @role gauge @unit pages
	bool exited;			///< the process's last thread exited: its final report
};

#endif /* __PROCSTAT_H */
