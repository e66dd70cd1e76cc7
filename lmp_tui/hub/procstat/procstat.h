/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef __PROCSTAT_H
#define __PROCSTAT_H

#define TASK_COMM_LEN 16

/* Memory / context-switch snapshot of the task that just left the CPU.
 * Layout (offset/size): pid 0/4, comm 4/16, (4 bytes implicit padding),
 * nvcsw 24/8, nivcsw 32/8, vsize 40/8, size 48/8, rssanon 56/8,
 * rssfile 64/8, rssshmem 72/8, vswap 80/8, vdata 88/8, vstk 96/8,
 * vpte 104/8; sizeof == 112. Memory fields are in pages. */
struct event {
	int pid;			/* thread id (task->pid) */
	char comm[TASK_COMM_LEN];	/* task command name */
	long long nvcsw;		/* voluntary context switches (count) */
	long long nivcsw;		/* involuntary context switches (count) */
	long long vsize;		/* mm->total_vm (pages) */
	long long size;			/* rssanon + rssfile + rssshmem (pages) */
	long long rssanon;		/* MM_ANONPAGES (pages) */
	long long rssfile;		/* MM_FILEPAGES (pages) */
	long long rssshmem;		/* MM_SHMEMPAGES (pages) */
	long long vswap;		/* MM_SWAPENTS (pages) */
	long long vdata;		/* mm->data_vm (pages) */
	long long vstk;			/* mm->stack_vm (pages) */
	long long vpte;			/* mm->pgtables_bytes >> 12 (pages) */
};

#endif /* __PROCSTAT_H */
