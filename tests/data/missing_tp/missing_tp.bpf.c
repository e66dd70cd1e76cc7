// Attaches to a tracepoint no kernel has: `lmp run` must refuse it in one line.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tracepoint/syscalls/sys_enter_lmp_does_not_exist")
int handle(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
