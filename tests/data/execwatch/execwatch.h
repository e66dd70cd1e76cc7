#ifndef __EXECWATCH_H
#define __EXECWATCH_H

#define TASK_COMM_LEN 16

enum event_kind {
	KIND_EXEC = 1,
	KIND_OTHER = 2,
};

struct ids {
	int pid;
	int ppid;
};

struct event {
	struct ids ids;
	enum event_kind kind;
	char comm[TASK_COMM_LEN];
	unsigned __int128 stamp;
	unsigned long long ns;
};

#endif
