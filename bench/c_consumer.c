// SPDX-License-Identifier: MIT
/* The benchmark's reference consumer: libbpf's ring_buffer__poll(), one callback per event.
 *
 *   c_consumer OBJ PRODUCER CONSUMER_CPU PRODUCER_CPU RATE SECONDS WAKEUP_MODE TIMER_MS
 *              WAKEUP_BYTES WAKEUP_EVERY
 *
 * Pins itself to CONSUMER_CPU, forks PRODUCER (bench/producer.c) pinned to PRODUCER_CPU, loads
 * the generator OBJ (ringgen.bpf.o) with target_tgid = the producer's pid, attaches it, says
 * "go", and consumes `events` until the producer exits, then drains what is left. Like our
 * source it polls with a TIMER_MS timeout and drains on timeout too (with threshold wakeups
 * the kernel does not wake an epoll waiter below the threshold). Each event's per-CPU sequence
 * number is checked. Prints one JSON line of results. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/types.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "ringgen.h"

#define MAX_CPUS 1024

struct stats {
	unsigned long long events, gaps, order_errors;
	long long next[MAX_CPUS]; /* next expected seq per CPU */
	unsigned long long max_lat_ns, max_avail;
};

static volatile sig_atomic_t child_exited;

static void on_sigchld(int sig)
{
	(void)sig;
	child_exited = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_seconds(const struct rusage *r)
{
	return r->ru_utime.tv_sec + r->ru_utime.tv_usec * 1e-6 + r->ru_stime.tv_sec +
	       r->ru_stime.tv_usec * 1e-6;
}

/* Busy and steal seconds of one CPU so far, from /proc/stat (clock ticks). */
static void cpu_stat(int cpu, double *busy, double *steal)
{
	unsigned long long v[8] = {0};
	char name[16], want[16], line[512];
	double hz = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "r");

	*busy = *steal = 0;
	if (!f)
		return;
	snprintf(want, sizeof(want), "cpu%d", cpu);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%15s %llu %llu %llu %llu %llu %llu %llu %llu", name, &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 9 && !strcmp(name, want)) {
			/* user nice system idle iowait irq softirq steal */
			*busy = (v[0] + v[1] + v[2] + v[5] + v[6]) / hz;
			*steal = v[7] / hz;
			break;
		}
	}
	fclose(f);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct stats *st = ctx;
	const struct event *e = data;
	unsigned int cpu;
	long long seq;

	if (size < sizeof(*e))
		return 0;
	st->events++;
	cpu = e->cpu < MAX_CPUS ? e->cpu : MAX_CPUS - 1;
	seq = (long long)e->seq;
	if (seq > st->next[cpu])
		st->gaps += seq - st->next[cpu];
	else if (seq < st->next[cpu])
		st->order_errors++;
	st->next[cpu] = seq + 1;
	if (e->avail > st->max_avail)
		st->max_avail = e->avail;
	return 0;
}

/* Sets a global of .rodata before load, found by name in the object's BTF. */
static int set_rodata(struct bpf_object *obj, const char *name, const void *val, size_t len)
{
	struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *map;
	const struct btf_type *sec;
	const struct btf_var_secinfo *vs;
	size_t size;
	void *data;
	int id, i;

	bpf_object__for_each_map(map, obj) {
		const char *n = bpf_map__name(map);
		size_t l = strlen(n);

		if (l >= 7 && !strcmp(n + l - 7, ".rodata"))
			break;
	}
	if (!map || !btf)
		return -ENOENT;
	data = (void *)bpf_map__initial_value(map, &size);
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (!data || id < 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(sec);
	for (i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);

		if (strcmp(btf__name_by_offset(btf, var->name_off), name))
			continue;
		if (vs->size != len || vs->offset + len > size)
			return -EINVAL;
		memcpy((char *)data + vs->offset, val, len);
		return 0;
	}
	return -ENOENT;
}

static unsigned long long sum_percpu(struct bpf_object *obj, const char *name)
{
	int ncpus = libbpf_num_possible_cpus(), fd;
	unsigned long long total = 0, *vals;
	__u32 key = 0;

	fd = bpf_object__find_map_fd_by_name(obj, name);
	vals = calloc(ncpus > 0 ? ncpus : 1, sizeof(*vals));
	if (fd >= 0 && vals && !bpf_map_lookup_elem(fd, &key, vals))
		for (int i = 0; i < ncpus; i++)
			total += vals[i];
	free(vals);
	return total;
}

int main(int argc, char **argv)
{
	int to_child[2], from_child[2], err, wakeup_mode, timer_ms, status, cpus[2];
	double busy0[2], busy1[2], steal0[2], steal1[2];
	struct bpf_object *obj = NULL;
	struct bpf_program *prog;
	struct bpf_link *link = NULL;
	struct ring_buffer *rb = NULL;
	struct rusage r0, r1;
	struct sigaction sa;
	struct stats *st;
	char out[512] = "", *p;
	unsigned long long polls = 0, timer_drains = 0;
	double t0, t1;
	cpu_set_t set;
	pid_t child;
	ssize_t n;

	if (argc != 11) {
		fprintf(stderr, "usage: %s OBJ PRODUCER CONSUMER_CPU PRODUCER_CPU RATE SECONDS "
				"WAKEUP_MODE TIMER_MS WAKEUP_BYTES WAKEUP_EVERY\n", argv[0]);
		return 2;
	}
	wakeup_mode = atoi(argv[7]);
	timer_ms = atoi(argv[8]);
	st = calloc(1, sizeof(*st));
	if (!st)
		return 1;
	CPU_ZERO(&set);
	CPU_SET(atoi(argv[3]), &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("sched_setaffinity");
		return 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	if (pipe(to_child) || pipe(from_child)) {
		perror("pipe");
		return 1;
	}
	child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		close(to_child[1]);
		close(from_child[0]);
		execl(argv[2], argv[2], argv[4], argv[5], argv[6], (char *)NULL);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);

	err = -1;
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "cannot open %s: %s\n", argv[1], strerror(errno));
		goto out;
	}
	{
		int tgid = child;
		unsigned long long wakeup_bytes = strtoull(argv[9], NULL, 0);
		unsigned int wakeup_every = strtoul(argv[10], NULL, 0);

		if (set_rodata(obj, "target_tgid", &tgid, sizeof(tgid)) ||
		    set_rodata(obj, "wakeup_mode", &wakeup_mode, sizeof(wakeup_mode)) ||
		    set_rodata(obj, "wakeup_bytes", &wakeup_bytes, sizeof(wakeup_bytes)) ||
		    set_rodata(obj, "wakeup_every", &wakeup_every, sizeof(wakeup_every))) {
			fprintf(stderr, "cannot set the generator's .rodata\n");
			goto out;
		}
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "cannot load %s\n", argv[1]);
		goto out;
	}
	prog = bpf_object__find_program_by_name(obj, "on_getppid");
	link = prog ? bpf_program__attach(prog) : NULL;
	if (!link) {
		fprintf(stderr, "cannot attach on_getppid: %s\n", strerror(errno));
		link = NULL;
		goto out;
	}
	rb = ring_buffer__new(bpf_object__find_map_fd_by_name(obj, "events"), handle_event, st,
			      NULL);
	if (!rb) {
		fprintf(stderr, "cannot open the ring buffer: %s\n", strerror(errno));
		goto out;
	}

	cpus[0] = atoi(argv[4]);
	cpus[1] = atoi(argv[3]);
	for (int i = 0; i < 2; i++)
		cpu_stat(cpus[i], &busy0[i], &steal0[i]);
	getrusage(RUSAGE_SELF, &r0);
	t0 = now();
	if (write(to_child[1], "g", 1) != 1) {
		perror("write");
		goto out;
	}
	while (!child_exited) {
		int got = ring_buffer__poll(rb, timer_ms);

		polls++;
		if (got == 0 || got == -EINTR) {
			/* the timer drain: below the threshold the kernel wakes nobody */
			ring_buffer__consume(rb);
			timer_drains++;
		} else if (got < 0) {
			fprintf(stderr, "ring_buffer__poll: %d\n", got);
			goto out;
		}
	}
	while (ring_buffer__consume(rb) > 0)
		;
	t1 = now();
	getrusage(RUSAGE_SELF, &r1);
	for (int i = 0; i < 2; i++)
		cpu_stat(cpus[i], &busy1[i], &steal1[i]);

	waitpid(child, &status, 0);
	child = 0;
	n = read(from_child[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = 0;
	if ((p = strchr(out, '\n')))
		*p = 0;
	if (!out[0])
		strcpy(out, "null");
	printf("{\"consumer\": \"c\", \"events\": %llu, \"drops\": %llu, \"produced\": %llu, "
	       "\"gaps\": %llu, \"order_errors\": %llu, \"cpu_s\": %.6f, \"user_s\": %.6f, "
	       "\"sys_s\": %.6f, \"wall_s\": %.6f, \"nvcsw\": %ld, \"nivcsw\": %ld, "
	       "\"polls\": %llu, \"timer_drains\": %llu, \"max_avail\": %llu, "
	       "\"busy_s\": [%.2f, %.2f], \"steal_s\": [%.2f, %.2f], \"producer\": %s}\n",
	       st->events, sum_percpu(obj, "drops"), sum_percpu(obj, "seqs"), st->gaps,
	       st->order_errors, cpu_seconds(&r1) - cpu_seconds(&r0),
	       (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) + (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) * 1e-6,
	       (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) * 1e-6,
	       t1 - t0, r1.ru_nvcsw - r0.ru_nvcsw, r1.ru_nivcsw - r0.ru_nivcsw, polls, timer_drains,
	       st->max_avail, busy1[0] - busy0[0], busy1[1] - busy0[1], steal1[0] - steal0[0],
	       steal1[1] - steal0[1], out);
	err = 0;
out:
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
	}
	ring_buffer__free(rb);
	bpf_link__destroy(link);
	bpf_object__close(obj);
	return err ? 1 : 0;
}
