// A legacy eunomia "ewasm" module (spec 5.2), as ecc's template/app.c shaped them: no _start,
// exports bpf_main and process_event, imports env.create_bpf / run_bpf / wait_and_poll_bpf,
// and carries the whole package.json in ewasm-skel.h. Built by tests/test_wasm_ewasm.py.
#include <stdio.h>
#include <string.h>

#include "ewasm-skel.h"

#define ENV_IMPORT(name) __attribute__((import_module("env"), import_name(name)))

ENV_IMPORT("create_bpf") int create_bpf(char *package_json, int len);
ENV_IMPORT("run_bpf") int run_bpf(int id);
ENV_IMPORT("wait_and_poll_bpf") int wait_and_poll_bpf(int id);

/* Every event, as the JSON text the host made of it; a negative return drops it. */
__attribute__((export_name("process_event"))) int process_event(int ctx, char *e, int len)
{
	(void)ctx;
#ifdef TRAP_IN_PROCESS_EVENT
	__builtin_trap();
#endif
	printf("EVENT %.*s\n", len, e);
	return 0;
}

__attribute__((export_name("bpf_main"))) int bpf_main(char *env_json, int len)
{
	int id;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ARGS %.*s\n", len, env_json);
	id = create_bpf(program_data, (int)strlen(program_data));
	if (id < 0)
		return 3;
	if (run_bpf(id) < 0)
		return 4;
	if (wait_and_poll_bpf(id) < 0)
		return 5;
	printf("DONE\n");
	return 0;
}
