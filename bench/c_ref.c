// SPDX-License-Identifier: MIT
/* The reference a user would pick instead of lmp: a plain libbpf consumer of a BPF object.
 *
 *   c_ref [-c CPU] [-s NAME=VALUE]... [-x PROG]... [-p PAGES] [-l LOG] OBJ MAP
 *
 * Opens OBJ (the very object a Hub package carries), sets integer .rodata globals (-s),
 * leaves out programs (-x, what `/// @when` leaves out for lmp), loads, attaches the rest,
 * and reads MAP with libbpf's own consumer: ring_buffer__poll() for a ring buffer,
 * perf_buffer__poll() (PAGES per CPU, default 64 as ecli) for a perf event array, one
 * callback per event, 100 ms poll timeout (ecli's poll_timeout_ms). Prints "ready" once
 * attached; on SIGINT/SIGTERM drains what is left and prints one JSON line: events, kernel
 * drops (the object's `drops` per-CPU map, when it has one), perf lost samples, CPU seconds
 * since ready. LOG gets (events so far, CLOCK_REALTIME ns) pairs (native u64) after each
 * poll and every 256 events, for the benchmark's event ages. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

static volatile sig_atomic_t stop;
static unsigned long long events, lost;
static FILE *logf;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void log_point(void)
{
	struct timespec ts;
	uint64_t pair[2];

	if (!logf)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	pair[0] = events;
	pair[1] = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	fwrite(pair, sizeof(pair), 1, logf);
}

static int on_ring_event(void *ctx, void *data, size_t size)
{
	(void)ctx, (void)data, (void)size;
	if ((++events & 255) == 0)
		log_point();
	return 0;
}

static void on_perf_event(void *ctx, int cpu, void *data, __u32 size)
{
	(void)ctx, (void)cpu, (void)data, (void)size;
	if ((++events & 255) == 0)
		log_point();
}

static void on_perf_lost(void *ctx, int cpu, __u64 count)
{
	(void)ctx, (void)cpu;
	lost += count;
}

static double cpu_seconds(void)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	return r.ru_utime.tv_sec + r.ru_utime.tv_usec * 1e-6 + r.ru_stime.tv_sec +
	       r.ru_stime.tv_usec * 1e-6;
}

/* Sets an integer global of .rodata before load, found by name in the object's BTF. */
static int set_rodata(struct bpf_object *obj, const char *name, long long value)
{
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	struct bpf_map *map;
	size_t size;
	char *data;
	int id;

	bpf_object__for_each_map(map, obj) {
		const char *n = bpf_map__name(map);
		size_t l = strlen(n);

		if (l >= 7 && !strcmp(n + l - 7, ".rodata"))
			break;
	}
	if (!map || !btf)
		return -ENOENT;
	data = (char *)bpf_map__initial_value(map, &size);
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (!data || id < 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	vs = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);

		if (strcmp(btf__name_by_offset(btf, var->name_off), name))
			continue;
		if (vs->size > 8 || vs->offset + vs->size > size)
			return -EINVAL;
		memcpy(data + vs->offset, &value, vs->size); /* little-endian */
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
	if (fd < 0)
		return 0;
	vals = calloc(ncpus > 0 ? ncpus : 1, sizeof(*vals));
	if (vals && !bpf_map_lookup_elem(fd, &key, vals))
		for (int i = 0; i < ncpus; i++)
			total += vals[i];
	free(vals);
	return total;
}

int main(int argc, char **argv)
{
	struct bpf_link *links[64] = {0};
	struct ring_buffer *rb = NULL;
	struct perf_buffer *pb = NULL;
	struct bpf_object *obj = NULL;
	struct bpf_program *prog;
	struct bpf_map *map;
	char *sets[64], *skips[64];
	int nsets = 0, nskips = 0, nlinks = 0, pages = 64, cpu = -1, opt, err = 1, fd;
	double cpu0;

	while ((opt = getopt(argc, argv, "c:s:x:p:l:")) != -1) {
		switch (opt) {
		case 'c': cpu = atoi(optarg); break;
		case 's': if (nsets < 64) sets[nsets++] = optarg; break;
		case 'x': if (nskips < 64) skips[nskips++] = optarg; break;
		case 'p': pages = atoi(optarg); break;
		case 'l':
			if (!(logf = fopen(optarg, "wb"))) {
				perror("c_ref: log");
				return 1;
			}
			break;
		default: goto usage;
		}
	}
	if (optind + 2 != argc) {
usage:
		fprintf(stderr, "usage: %s [-c CPU] [-s NAME=VALUE]... [-x PROG]... [-p PAGES] "
				"[-l LOG] OBJ MAP\n", argv[0]);
		return 2;
	}
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			perror("c_ref: sched_setaffinity");
			return 1;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	obj = bpf_object__open_file(argv[optind], NULL);
	if (!obj) {
		fprintf(stderr, "c_ref: cannot open %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	for (int i = 0; i < nsets; i++) {
		char *eq = strchr(sets[i], '=');

		if (!eq)
			goto usage;
		*eq = 0;
		if (set_rodata(obj, sets[i], strtoll(eq + 1, NULL, 0))) {
			fprintf(stderr, "c_ref: no .rodata global %s\n", sets[i]);
			goto out;
		}
	}
	bpf_object__for_each_program(prog, obj)
		for (int i = 0; i < nskips; i++)
			if (!strcmp(bpf_program__name(prog), skips[i]))
				bpf_program__set_autoload(prog, false);
	if (bpf_object__load(obj)) {
		fprintf(stderr, "c_ref: cannot load %s\n", argv[optind]);
		goto out;
	}
	bpf_object__for_each_program(prog, obj) {
		if (!bpf_program__autoload(prog) || nlinks == 64)
			continue;
		links[nlinks] = bpf_program__attach(prog);
		if (!links[nlinks]) {
			fprintf(stderr, "c_ref: cannot attach %s\n", bpf_program__name(prog));
			goto out;
		}
		nlinks++;
	}
	map = bpf_object__find_map_by_name(obj, argv[optind + 1]);
	fd = map ? bpf_map__fd(map) : -1;
	if (fd < 0) {
		fprintf(stderr, "c_ref: no map %s\n", argv[optind + 1]);
		goto out;
	}
	if (bpf_map__type(map) == BPF_MAP_TYPE_RINGBUF)
		rb = ring_buffer__new(fd, on_ring_event, NULL, NULL);
	else
		pb = perf_buffer__new(fd, pages, on_perf_event, on_perf_lost, NULL, NULL);
	if (!rb && !pb) {
		fprintf(stderr, "c_ref: cannot open %s: %s\n", argv[optind + 1], strerror(errno));
		goto out;
	}
	cpu0 = cpu_seconds();
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		int got = rb ? ring_buffer__poll(rb, 100) : perf_buffer__poll(pb, 100);

		if (got < 0 && got != -EINTR) {
			fprintf(stderr, "c_ref: poll: %d\n", got);
			goto out;
		}
		log_point();
	}
	if (rb)
		ring_buffer__consume(rb);
	else
		perf_buffer__consume(pb);
	log_point();
	printf("{\"events\": %llu, \"drops\": %llu, \"lost\": %llu, \"cpu_s\": %.6f}\n", events,
	       sum_percpu(obj, "drops"), lost, cpu_seconds() - cpu0);
	fflush(stdout);
	err = 0;
out:
	if (logf)
		fclose(logf);
	ring_buffer__free(rb);
	perf_buffer__free(pb);
	for (int i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	return err;
}
