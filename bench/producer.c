// SPDX-License-Identifier: MIT
/* The benchmark's event producer: getppid() from a tight loop, pinned to one CPU.
 *
 *   producer CPU RATE SECONDS
 *
 * Pins itself to CPU, waits for one byte on stdin (the consumer's "go", sent once the
 * generator is attached), then calls getppid() for SECONDS, as fast as it can (RATE 0) or at
 * RATE calls per second (batches of calls paced on CLOCK_MONOTONIC). Prints one JSON line:
 * {"calls": N, "seconds": S, "cpu_s": C} (C: its own CPU time, BPF program included). Dies with its parent (PR_SET_PDEATHSIG). */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	unsigned long long calls = 0, batch, k = 0;
	double rate, seconds, t0, end, t;
	pid_t parent = getppid();
	struct rusage ru;
	cpu_set_t set;
	char go;

	if (argc != 4) {
		fprintf(stderr, "usage: %s CPU RATE SECONDS\n", argv[0]);
		return 2;
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		return 1;
	CPU_ZERO(&set);
	CPU_SET(atoi(argv[1]), &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("sched_setaffinity");
		return 1;
	}
	rate = atof(argv[2]);
	seconds = atof(argv[3]);
	if (read(0, &go, 1) != 1)
		return 0; /* the consumer gave up before starting */

	t0 = now();
	end = t0 + seconds;
	if (rate <= 0) {
		do {
			for (int i = 0; i < 1024; i++)
				syscall(SYS_getppid);
			calls += 1024;
		} while (now() < end);
	} else {
		/* batches of ~1 ms of calls, each started on its schedule */
		batch = rate >= 1000 ? (unsigned long long)(rate / 1000) : 1;
		for (;;) {
			double due = t0 + (double)(k * batch) / rate;
			struct timespec ts;

			if (due >= end)
				break;
			t = now();
			if (due > t) {
				ts.tv_sec = (time_t)due;
				ts.tv_nsec = (long)((due - (double)ts.tv_sec) * 1e9);
				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			}
			for (unsigned long long i = 0; i < batch; i++)
				syscall(SYS_getppid);
			calls += batch;
			k++;
		}
	}
	t = now();
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"calls\": %llu, \"seconds\": %.6f, \"cpu_s\": %.6f}\n", calls, t - t0,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec * 1e-6);
	return 0;
}
