#ifndef __CPUCLOCK_H
#define __CPUCLOCK_H

/* One CPU-clock sample. */
struct cpu_sample {
	unsigned int cpu;
	unsigned int pid;
	char comm[16];
};

#endif
