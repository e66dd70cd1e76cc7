// SPDX-License-Identifier: MIT
/* A workload for the Hub's real programs: syscalls at a fixed rate from one pinned CPU.
 *
 *   loadgen MODE CPU RATE SECONDS [LOG]
 *
 * MODE  open   openat("/nonexistent/lmp-load/<n>"): one opensnoop event per call (ENOENT)
 *       opencomms  the same, each call from one of COMMS thread names in turn ("lg<n % COMMS>",
 *              set with PR_SET_NAME before it): COMMS distinct comm values, as many processes
 *              would make (10,000, or LMP_LOAD_COMMS)
 *       kill   kill(self, SIGURG), ignored: one sigsnoop event per call (signal_generate)
 *       getppid  getppid(): the synthetic generator's trigger (bench/ringgen.bpf.c)
 * CPU   the CPU to pin to (-1: no pinning)
 * RATE  calls per second, paced in batches of about 1 ms on CLOCK_MONOTONIC; 0 = flat out
 * LOG   optional file of (calls so far, CLOCK_REALTIME ns) pairs, native u64, one before and
 *       one after every batch: a consumer that knows when it received its k-th event computes that
 *       event's age from it, whatever the program's record holds.
 *
 * Starts when it reads one byte on stdin (or at once when stdin is not a pipe), so a
 * consumer can attach first. Prints one JSON line: calls, seconds, cpu_s (its own CPU time,
 * the BPF programs it triggers included: the producer's slowdown). Dies with its parent. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum mode { OPEN, OPENCOMMS, KILL, GETPPID };

static unsigned long long comms = 10000;

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The decimal digits of n at the end of path (whose prefix is already there). */
static void set_number(char *digits, unsigned long long n)
{
	char tmp[24];
	int i = 0, j = 0;

	do
		tmp[i++] = '0' + n % 10;
	while (n /= 10);
	while (i)
		digits[j++] = tmp[--i];
	digits[j] = 0;
}

static char path[64] = "/nonexistent/lmp-load/";

static inline void call(enum mode m, unsigned long long n, pid_t self)
{
	char name[16] = "lg";

	switch (m) {
	case OPENCOMMS:
		set_number(name + 2, n % comms);
		prctl(PR_SET_NAME, name);
		/* fall through */
	case OPEN:
		set_number(path + 22, n);
		syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
		break;
	case KILL:
		kill(self, SIGURG);
		break;
	case GETPPID:
		syscall(SYS_getppid);
		break;
	}
}

int main(int argc, char **argv)
{
	unsigned long long calls = 0, batch, k = 0;
	double rate, seconds, t0, end, t;
	pid_t parent = getppid(), self = getpid();
	struct rusage ru;
	struct stat st;
	enum mode m;
	FILE *log = NULL;
	int cpu;
	char go;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: %s open|opencomms|kill|getppid CPU RATE SECONDS [LOG]\n",
			argv[0]);
		return 2;
	}
	if (!strcmp(argv[1], "open"))
		m = OPEN;
	else if (!strcmp(argv[1], "opencomms"))
		m = OPENCOMMS;
	else if (!strcmp(argv[1], "kill"))
		m = KILL;
	else if (!strcmp(argv[1], "getppid"))
		m = GETPPID;
	else {
		fprintf(stderr, "loadgen: unknown mode %s\n", argv[1]);
		return 2;
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		return 1;
	cpu = atoi(argv[2]);
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			perror("loadgen: sched_setaffinity");
			return 1;
		}
	}
	if (getenv("LMP_LOAD_COMMS") && atoll(getenv("LMP_LOAD_COMMS")) > 0)
		comms = atoll(getenv("LMP_LOAD_COMMS"));
	rate = atof(argv[3]);
	seconds = atof(argv[4]);
	if (argc == 6 && !(log = fopen(argv[5], "wb"))) {
		perror("loadgen: log");
		return 1;
	}
	signal(SIGURG, SIG_IGN);
	if (!fstat(0, &st) && S_ISFIFO(st.st_mode) && read(0, &go, 1) != 1)
		return 0; /* the consumer gave up before starting */

	t0 = mono();
	end = t0 + seconds;
	/* batches of ~1 ms of calls, each started on its schedule; flat out: 1024 at a time */
	batch = rate <= 0 ? 1024 : rate >= 1000 ? (unsigned long long)(rate / 1000) : 1;
	for (;;) {
		if (rate > 0) {
			double due = t0 + (double)(k * batch) / rate;
			struct timespec ts;

			if (due >= end)
				break;
			if (due > mono()) {
				ts.tv_sec = (time_t)due;
				ts.tv_nsec = (long)((due - (double)ts.tv_sec) * 1e9);
				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			}
		} else if (mono() >= end) {
			break;
		}
		if (log) {
			uint64_t pair[2] = {calls, wall_ns()};

			fwrite(pair, sizeof(pair), 1, log);
		}
		for (unsigned long long i = 0; i < batch; i++)
			call(m, calls + i, self);
		calls += batch;
		k++;
		if (log) {
			uint64_t pair[2] = {calls, wall_ns()};

			fwrite(pair, sizeof(pair), 1, log);
		}
	}
	t = mono();
	if (log)
		fclose(log);
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"calls\": %llu, \"seconds\": %.6f, \"cpu_s\": %.6f}\n", calls, t - t0,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
		       ru.ru_stime.tv_usec * 1e-6);
	fflush(stdout);
	return 0;
}
