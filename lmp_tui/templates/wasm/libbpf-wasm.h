/* SPDX-License-Identifier: MIT */
/*
 * libbpf-wasm.h: the wasm-bpf host ABI and a thin libbpf-like layer over it.
 *
 * Shipped with lmp-tui and copied into a project by `lmp gen-wasm-skel`. An app
 * compiled with `clang --target=wasm32-wasi` imports six functions from the
 * module "wasm_bpf"; `lmp run app.wasm` (or any wasm-bpf runtime) provides them.
 * Pointers are offsets in the app's linear memory; the host checks every one.
 *
 * The layer below keeps apps looking like libbpf-bootstrap programs:
 *
 *     struct bpf_object *obj = bpf_object__load_mem(elf, elf_size);
 *     bpf_object__attach_program(obj, "handle_exec", NULL);
 *     struct bpf_buffer *rb = bpf_buffer__open(obj, "events", handle_event, NULL);
 *     while ((err = bpf_buffer__poll(rb, 100)) >= 0)
 *             ;
 *     bpf_buffer__free(rb);
 *     bpf_object__close(obj);
 *
 * Callbacks reach the host as function-table indices, so link with
 * `-Wl,--export-table` (`lmp build-wasm` does).
 */
#ifndef __LMP_LIBBPF_WASM_H
#define __LMP_LIBBPF_WASM_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- the host ABI (module "wasm_bpf") ------------------------------------ */

/* A loaded BPF object as the host knows it: a handle >= 1, or 0 on failure. */
typedef uint64_t bpf_object_skel;

#define LMP_WASM_BPF_IMPORT(name) \
	__attribute__((import_module("wasm_bpf"), import_name(name)))

/* Opens AND loads the ELF object (maps created, programs verified). */
LMP_WASM_BPF_IMPORT("wasm_load_bpf_object")
bpf_object_skel wasm_load_bpf_object(const void *obj_buf, int obj_buf_sz);

/* Attaches one program by name; attach_target is a cgroup path (sockops), an
 * interface name (xdp) or NULL for the section's own attach point. 0 or < 0. */
LMP_WASM_BPF_IMPORT("wasm_attach_bpf_program")
int wasm_attach_bpf_program(bpf_object_skel obj, const char *name, const char *attach_target);

/* Polls the ring/perf buffer of map `fd` (created on the first call) for up to
 * timeout_ms and calls table[sample_func](ctx, data, size) for every record,
 * each copied into data[0..max_size). 0, or < 0 (-EINTR: the host is stopping
 * the app; a negative callback return also stops the poll and is returned). */
LMP_WASM_BPF_IMPORT("wasm_bpf_buffer_poll")
int wasm_bpf_buffer_poll(bpf_object_skel obj, int fd, int32_t sample_func, uint32_t ctx,
			 char *data, int max_size, int timeout_ms);

/* The fd of a map of the object, or -1. */
LMP_WASM_BPF_IMPORT("wasm_bpf_map_fd_by_name")
int wasm_bpf_map_fd_by_name(bpf_object_skel obj, const char *name);

/* bpf(2) map commands on guest memory: 0 or -errno (Linux numbers, see lmp_host_err). */
LMP_WASM_BPF_IMPORT("wasm_bpf_map_operate")
int wasm_bpf_map_operate(int fd, int cmd, void *key, void *value, void *next_key, uint64_t flags);

/* Detaches every program and frees the object: 0, or -1 for an unknown handle. */
LMP_WASM_BPF_IMPORT("wasm_close_bpf_object")
int wasm_close_bpf_object(bpf_object_skel obj);

#undef LMP_WASM_BPF_IMPORT

/* bpf_cmd numbers accepted by wasm_bpf_map_operate (the kernel's). */
enum {
	BPF_MAP_LOOKUP_ELEM = 1,
	BPF_MAP_UPDATE_ELEM = 2,
	BPF_MAP_DELETE_ELEM = 3,
	BPF_MAP_GET_NEXT_KEY = 4,
};

/* flags of BPF_MAP_UPDATE_ELEM */
enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
	BPF_F_LOCK = 4,
};

/* The host answers with Linux errno numbers, which wasi-libc numbers differently (EINTR is 4
 * on Linux, 27 in <errno.h> here). The helpers below return the app's own numbers, so that
 * `err == -EINTR` works; the raw imports above return the host's. Unknown codes become -EIO. */
static inline int lmp_host_err(int ret)
{
	if (ret >= 0)
		return ret;
	switch (-ret) {
	case 1: return -EPERM;
	case 2: return -ENOENT;
	case 4: return -EINTR;
	case 7: return -E2BIG;
	case 9: return -EBADF;
	case 11: return -EAGAIN;
	case 12: return -ENOMEM;
	case 13: return -EACCES;
	case 14: return -EFAULT;
	case 16: return -EBUSY;
	case 17: return -EEXIST;
	case 22: return -EINVAL;
	case 28: return -ENOSPC;
	case 95: return -EOPNOTSUPP;
	case 524: return -EOPNOTSUPP; /* the kernel's ENOTSUPP */
	default: return -EIO;
	}
}

/* ---- objects -------------------------------------------------------------- */

struct bpf_object {
	bpf_object_skel handle;
};

/* Loads an ELF BPF object held in memory (e.g. the array of a generated
 * skeleton). The host loads it at once, so set .rodata values before. */
static inline struct bpf_object *bpf_object__load_mem(const void *elf, size_t size)
{
	struct bpf_object *obj = calloc(1, sizeof(*obj));

	if (!obj)
		return NULL;
	obj->handle = wasm_load_bpf_object(elf, (int)size);
	if (!obj->handle) {
		free(obj);
		errno = EINVAL;
		return NULL;
	}
	return obj;
}

static inline int bpf_object__attach_program(struct bpf_object *obj, const char *prog_name,
					     const char *attach_target)
{
	return lmp_host_err(wasm_attach_bpf_program(
		obj->handle, prog_name, attach_target && *attach_target ? attach_target : NULL));
}

/* Attaches programs by name, in order; stops at the first failure. */
static inline int bpf_object__attach_all(struct bpf_object *obj, const char *const *prog_names,
					 int count)
{
	for (int i = 0; i < count; i++) {
		int err = bpf_object__attach_program(obj, prog_names[i], NULL);

		if (err)
			return err;
	}
	return 0;
}

static inline int bpf_object__map_fd(struct bpf_object *obj, const char *map_name)
{
	return wasm_bpf_map_fd_by_name(obj->handle, map_name);
}

static inline void bpf_object__close(struct bpf_object *obj)
{
	if (!obj)
		return;
	wasm_close_bpf_object(obj->handle);
	free(obj);
}

/* ---- ring buffers and perf buffers --------------------------------------- */

/* Records longer than this are cut to it (define it before the include). */
#ifndef LMP_EVENT_MAX
#define LMP_EVENT_MAX 4096
#endif

/* As libbpf's ring_buffer_sample_fn: return < 0 to stop the current poll. */
typedef int (*bpf_buffer_sample_fn)(void *ctx, void *data, size_t size);

struct bpf_buffer {
	struct bpf_object *obj;
	int fd;
	bpf_buffer_sample_fn sample_fn;
	void *ctx;
	char data[LMP_EVENT_MAX];
};

/* A buffer over the ring buffer or perf event array named map_name. */
static inline struct bpf_buffer *bpf_buffer__open(struct bpf_object *obj, const char *map_name,
						  bpf_buffer_sample_fn sample_fn, void *ctx)
{
	struct bpf_buffer *buf;
	int fd = bpf_object__map_fd(obj, map_name);

	if (fd < 0) {
		errno = ENOENT;
		return NULL;
	}
	buf = calloc(1, sizeof(*buf));
	if (!buf)
		return NULL;
	buf->obj = obj;
	buf->fd = fd;
	buf->sample_fn = sample_fn;
	buf->ctx = ctx;
	return buf;
}

/* Waits up to timeout_ms (100 when <= 0) and hands every record to the
 * callback. 0, or < 0: -EINTR means the host wants the app to stop (Ctrl-C,
 * --duration): leave the poll loop and exit normally, so stdout is flushed. */
static inline int bpf_buffer__poll(struct bpf_buffer *buf, int timeout_ms)
{
	/* A function pointer is a table index in wasm32: that is what the host calls. */
	int ret = wasm_bpf_buffer_poll(buf->obj->handle, buf->fd, (int32_t)(intptr_t)buf->sample_fn,
				       (uint32_t)(uintptr_t)buf->ctx, buf->data,
				       (int)sizeof(buf->data), timeout_ms > 0 ? timeout_ms : 100);

	/* A stop comes as -EINTR in this libc's numbers already (wasm-bpf's examples compare the
	 * raw answer with -EINTR); a positive answer is a refusal too (+EINVAL: buffer out of
	 * bounds). */
	if (ret == -EINTR)
		return ret;
	return lmp_host_err(ret > 0 ? -ret : ret);
}

static inline void bpf_buffer__free(struct bpf_buffer *buf)
{
	free(buf);
}

/* ---- maps (libbpf's names; sizes are checked by the host) ----------------- */

static inline int bpf_map_lookup_elem(int fd, const void *key, void *value)
{
	return lmp_host_err(wasm_bpf_map_operate(fd, BPF_MAP_LOOKUP_ELEM, (void *)key, value, NULL, 0));
}

static inline int bpf_map_lookup_elem_flags(int fd, const void *key, void *value, uint64_t flags)
{
	return lmp_host_err(wasm_bpf_map_operate(fd, BPF_MAP_LOOKUP_ELEM, (void *)key, value, NULL, flags));
}

static inline int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)
{
	return lmp_host_err(wasm_bpf_map_operate(fd, BPF_MAP_UPDATE_ELEM, (void *)key,
						 (void *)value, NULL, flags));
}

static inline int bpf_map_delete_elem(int fd, const void *key)
{
	return lmp_host_err(wasm_bpf_map_operate(fd, BPF_MAP_DELETE_ELEM, (void *)key, NULL, NULL, 0));
}

/* key == NULL gives the first key. */
static inline int bpf_map_get_next_key(int fd, const void *key, void *next_key)
{
	return lmp_host_err(wasm_bpf_map_operate(fd, BPF_MAP_GET_NEXT_KEY, (void *)key, NULL, next_key, 0));
}

#endif /* __LMP_LIBBPF_WASM_H */
