#ifndef __PERFEXEC_H
#define __PERFEXEC_H

struct event {
	int pid;
	char comm[16];
};

#endif
