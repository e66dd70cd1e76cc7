// SPDX-License-Identifier: MIT
/* Written like wasm-bpf's examples/bootstrap/bootstrap.c: a `while (!exiting)` poll loop that
 * leaves on -EINTR, and plain printf to a stdout that is fully buffered when it is a file.
 * Built by tests/test_wasm_stops.py against the headers `lmp gen-wasm-skel` writes for the
 * bootstrap template; IGNORE_EINTR builds the app that does not leave. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "libbpf-wasm.h"
#include "bootstrap.skel.h"
#include "bootstrap.h"

static volatile bool exiting = false;

static int handle_event(void *ctx, void *data, size_t data_sz)
{
	const struct event *e = data;

	(void)ctx;
	(void)data_sz;
	if (e->exit_event)
		printf("%-5s %-16s %-7d %-7d [%u]\n", "EXIT", e->comm, e->pid, e->ppid, e->exit_code);
	else
		printf("%-5s %-16s %-7d %-7d %s\n", "EXEC", e->comm, e->pid, e->ppid, e->filename);
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_buffer *rb = NULL;
	struct bootstrap_bpf *skel;
	int err;

	(void)argc;
	(void)argv;
	skel = bootstrap_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "Failed to open and load BPF skeleton\n");
		return 1;
	}
	err = bootstrap_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "Failed to attach BPF skeleton\n");
		goto cleanup;
	}
	rb = bpf_buffer__open(skel->obj, "events", handle_event, NULL);
	if (!rb) {
		err = -1;
		fprintf(stderr, "Failed to create ring buffer\n");
		goto cleanup;
	}
	printf("%-5s %-16s %-7s %-7s %s\n", "EVENT", "COMM", "PID", "PPID", "FILENAME/EXIT CODE");
	fprintf(stderr, "attached\n"); /* unbuffered: tells the test when to exec */
	while (!exiting) {
		err = bpf_buffer__poll(rb, 100 /* timeout, ms */);
#ifndef IGNORE_EINTR
		/* Ctrl-C will cause -EINTR */
		if (err == -EINTR) {
			err = 0;
			break;
		}
#endif
		if (err < 0 && err != -EINTR) {
			printf("Error polling perf buffer: %d\n", err);
			break;
		}
	}

cleanup:
	bpf_buffer__free(rb);
	bootstrap_bpf__destroy(skel);
	return err < 0 ? -err : 0;
}
