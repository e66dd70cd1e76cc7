// A legacy ewasm app as eunomia's older ewasm toolchain built them: no libc of its own, so
// printf, malloc, strlen... are imports from env (WAMR's libc-builtin), beside env.create_bpf,
// run_bpf and wait_and_poll_bpf; the package.json is embedded by ewasm-skel.h. Built by
// tests/test_wasm_wamr_libc.py; -D picks a scenario other than the full app.
typedef __SIZE_TYPE__ size_t;
#define NULL ((void *)0)

int printf(const char *fmt, ...);
int snprintf(char *str, size_t size, const char *fmt, ...);
void *malloc(size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void exit(int code) __attribute__((noreturn));

#define ENV_IMPORT(name) __attribute__((import_module("env"), import_name(name)))

ENV_IMPORT("create_bpf") int create_bpf(char *package_json, int len);
ENV_IMPORT("run_bpf") int run_bpf(int id);
ENV_IMPORT("wait_and_poll_bpf") int wait_and_poll_bpf(int id);

#ifdef WITH_BPF
#include "ewasm-skel.h"

static int events;

/* Each event is copied to a buffer of our own first, as apps that kept them around did. */
__attribute__((export_name("process_event"))) int process_event(int ctx, char *e, int len)
{
	char *copy = malloc((size_t)len + 1);

	(void)ctx;
	memcpy(copy, e, (size_t)len + 1);
	if (strncmp(copy, "{", 1) != 0)
		return -1;
	printf("EVENT %d %.*s\n", ++events, len, copy);
	free(copy);
	return 0;
}

__attribute__((export_name("bpf_main"))) int bpf_main(char *env_json, int len)
{
	char *line = malloc(16);
	int need = snprintf(line, 16, "ARGS %.*s", len, env_json);
	int id;

	if (need >= 16) { /* too small: grow it, as apps sized their buffers */
		line = realloc(line, (size_t)need + 1);
		snprintf(line, (size_t)need + 1, "ARGS %.*s", len, env_json);
	}
	printf("%s\n", line);
	free(line);
	id = create_bpf(program_data, (int)strlen(program_data));
	if (id < 0)
		return 3;
	if (run_bpf(id) < 0)
		return 4;
	if (wait_and_poll_bpf(id) < 0)
		return 5;
	printf("DONE %d\n", events > 0);
	return 0;
}
#else
__attribute__((export_name("process_event"))) int process_event(int ctx, char *e, int len)
{
	(void)ctx;
	(void)e;
	(void)len;
	return 0;
}

__attribute__((export_name("bpf_main"))) int bpf_main(char *env_json, int len)
{
	(void)env_json;
	(void)len;
#if defined(BAD_STRLEN)
	printf("before\n");
	return (int)strlen((const char *)0xfffffff0);
#elif defined(BAD_PRINTF)
	printf("%s\n", (const char *)0x7ffffff0);
	return 0;
#elif defined(UNTERMINATED)
	/* the last bytes of memory, past the end of anything in use, with no NUL after them */
	char *end = (char *)(__builtin_wasm_memory_size(0) * 65536);
	for (int i = 1; i <= 16; i++)
		end[-i] = 'A';
	return (int)strlen(end - 16);
#elif defined(OUT_OF_MEMORY)
	/* 1 MiB blocks until malloc says no: the run's memory limit bounds the heap */
	void *blocks[256];
	int count = 0;
	while (count < 256 && (blocks[count] = malloc(1 << 20)) != NULL)
		count++;
	printf("blocks %d\n", count);
	printf("huge %d\n", malloc(64 << 20) == NULL);
	printf("realloc fails, keeps %d\n", count > 0 && realloc(blocks[0], 32 << 20) == NULL);
	while (count > 0)
		free(blocks[--count]);
	printf("after free %d\n", malloc(4 << 20) != NULL);
	exit(7);
#endif
	return 0;
}
#endif
