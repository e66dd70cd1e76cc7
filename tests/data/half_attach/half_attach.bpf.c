// Two programs: the first attaches; the second reads past sys_enter_getppid's 12-byte context,
// which the verifier accepts but attaching refuses (EACCES). `lmp run` must detach the first.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tp/sched/sched_process_exec")
int first(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int second(struct trace_event_raw_sys_enter *ctx)
{
	return ctx->args[2] == 42;
}

char LICENSE[] SEC("license") = "GPL";
