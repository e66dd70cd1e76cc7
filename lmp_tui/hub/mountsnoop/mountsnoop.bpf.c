// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Based on libbpf-tools mountsnoop.bpf.c, Copyright (c) 2021 Hengqi Chen */
/* mount() and umount2() syscalls, tracepoint-only. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "mountsnoop.h"
#include "lmp_events.bpf.h"

/* Keeps struct event in the object's BTF (the ring buffer carries it), the
 * same declaration eunomia-bpf's ecc appends when it builds a package. */
const volatile struct event * __eunomia_dummy_event_ptr __attribute__((unused));

#define MAX_ENTRIES 10240

/// Only trace this process id (tgid; 0 = all)
/// @cmdarg {"default": 0, "short": "p", "long": "pid"}
const volatile pid_t targ_pid = 0;

/* What sys_enter_* saw, kept until the matching sys_exit_*. */
struct arg {
	__u64 ts;
	__u64 flags;
	const char *src;
	const char *dest;
	const char *fs;
	const char *data;
	enum mnt_op op;
};

/* tid -> syscall arguments, between enter and exit */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u32);
	__type(value, struct arg);
} args SEC(".maps");

static __always_inline int probe_entry(const char *src, const char *dest,
				       const char *fs, __u64 flags,
				       const char *data, enum mnt_op op)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct arg arg = {};

	if (targ_pid && targ_pid != (id >> 32))
		return 0;

	arg.ts = bpf_ktime_get_ns();
	arg.flags = flags;
	arg.src = src;
	arg.dest = dest;
	arg.fs = fs;
	arg.data = data;
	arg.op = op;
	bpf_map_update_elem(&args, &tid, &arg, BPF_ANY);
	return 0;
}

static __always_inline int probe_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct task_struct *task;
	struct arg *argp;
	struct event *e;

	argp = bpf_map_lookup_elem(&args, &tid);
	if (!argp)
		return 0;

	if (!lmp_reserve(e))
		goto cleanup;

	task = (struct task_struct *)bpf_get_current_task();
	e->pid = id >> 32;
	e->tid = tid;
	e->mnt_ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	e->ret = ret;
	e->delta_ns = bpf_ktime_get_ns() - argp->ts;
	e->flags = argp->flags;
	e->op = argp->op;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	if (argp->src)
		bpf_probe_read_user_str(&e->src, sizeof(e->src), argp->src);
	if (argp->dest)
		bpf_probe_read_user_str(&e->dest, sizeof(e->dest), argp->dest);
	if (argp->fs)
		bpf_probe_read_user_str(&e->fs, sizeof(e->fs), argp->fs);
	if (argp->data)
		bpf_probe_read_user_str(&e->data, sizeof(e->data), argp->data);
	bpf_ringbuf_submit(e, 0);

cleanup:
	bpf_map_delete_elem(&args, &tid);
	return 0;
}

/* Syscall tracepoint formats (6.18), 8 bytes each: sys_enter_mount:
 * dev_name @16, dir_name @24, type @32, flags @40, data @48;
 * sys_enter_umount (the umount2 syscall): name @16, flags @24;
 * sys_exit_*: ret @16. trace_event_raw_sys_enter/exit match this. */

SEC("tracepoint/syscalls/sys_enter_mount")
int mount_entry(struct trace_event_raw_sys_enter *ctx)
{
	return probe_entry((const char *)ctx->args[0], (const char *)ctx->args[1],
			   (const char *)ctx->args[2], (__u64)ctx->args[3],
			   (const char *)ctx->args[4], MNT_OP_MOUNT);
}

SEC("tracepoint/syscalls/sys_exit_mount")
int mount_exit(struct trace_event_raw_sys_exit *ctx)
{
	return probe_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_umount")
int umount_entry(struct trace_event_raw_sys_enter *ctx)
{
	return probe_entry(NULL, (const char *)ctx->args[0], NULL,
			   (__u64)ctx->args[1], NULL, MNT_OP_UMOUNT);
}

SEC("tracepoint/syscalls/sys_exit_umount")
int umount_exit(struct trace_event_raw_sys_exit *ctx)
{
	return probe_exit(ctx->ret);
}

/// Trace mount and umount syscalls
char LICENSE[] SEC("license") = "Dual BSD/GPL";
