#ifndef __OPTIONAL_TP_H
#define __OPTIONAL_TP_H

/* A getppid call. */
struct call {
	unsigned int pid;
	unsigned int source;	/* 1: the tracepoint every kernel has; 2: the one none has */
};

#endif
