// SPDX-License-Identifier: GPL-2.0
/* A perf_event package: what runs on each CPU, sampled from the CPU clock (a software event,
 * so it works in virtual machines without a PMU). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "cpuclock.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} rb SEC(".maps");

/// A sample of each CPU, 49 times a second
/// @perf_event {"type": "PERF_TYPE_SOFTWARE", "config": "PERF_COUNT_SW_CPU_CLOCK", "sample_freq": 49}
SEC("perf_event")
int sample_cpu(struct bpf_perf_event_data *ctx)
{
	struct cpu_sample *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);

	if (!e)
		return 0;
	e->cpu = bpf_get_smp_processor_id();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
