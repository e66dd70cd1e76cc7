// Exec events through a perf event array (the pre-ring-buffer way): tests the perf buffer path.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "perfexec.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

SEC("tp/sched/sched_process_exec")
int handle_exec(void *ctx)
{
	struct event e = {};

	e.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(&e.comm, sizeof(e.comm));
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

/// Exec events over a perf buffer
char LICENSE[] SEC("license") = "Dual BSD/GPL";
