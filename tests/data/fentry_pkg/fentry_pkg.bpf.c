// Attaches to a kernel function through a BPF trampoline (fentry): on a kernel without
// trampolines `lmp run` must refuse it in one line that names them.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("fentry/do_unlinkat")
int handle(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
