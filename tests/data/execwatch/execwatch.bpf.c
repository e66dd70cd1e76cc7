// A libbpf-tools style program used by the builder tests: exec events with an enum, a nested
// struct, a char array and a 128-bit field.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "execwatch.h"

/// Only report execs by this process id (0 = all)
/// @cmdarg {"default": 0, "short": "p", "long": "pid"}
const volatile pid_t targ_pid = 0;

/// A name to look for
const volatile char targ_comm[16] = {};

/// Add a fixed value to the 128-bit stamp
const volatile unsigned long long stamp_base = 0;

/// Report only events from this comm prefix
const volatile bool verbose_events = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} rb SEC(".maps");

/// Runs on every exec
SEC("tp/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct event *e;
	pid_t pid = bpf_get_current_pid_tgid() >> 32;

	if (targ_pid && pid != targ_pid)
		return 0;
	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 0;
	e->ids.pid = pid;
	e->ids.ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->kind = KIND_EXEC;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	e->ns = bpf_ktime_get_ns();
	e->stamp = ((unsigned __int128)1 << 100) + stamp_base;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/// Exec watcher for tests
/// @version 1.2.3
char LICENSE[] SEC("license") = "Dual BSD/GPL";
