// SPDX-License-Identifier: GPL-2.0
// One tracepoint every kernel has, one none has, marked optional: `lmp run` runs the first and
// says in one line that it left the second out.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "optional_tp.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} rb SEC(".maps");

static __always_inline int emit(unsigned int source)
{
	struct call *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->source = source;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int present(void *ctx)
{
	return emit(1);
}

/// @optional
SEC("tracepoint/syscalls/sys_enter_lmp_does_not_exist")
int absent(void *ctx)
{
	return emit(2);
}

char LICENSE[] SEC("license") = "GPL";
