# Convenience wrappers around setup.sh (which works on a machine without make).
.PHONY: run test install hub bench
run:
	bash setup.sh run
test:
	bash setup.sh test
install:
	bash setup.sh install
hub:
	for d in lmp_tui/hub/*/; do [ -f $$d/*.bpf.c ] && .venv/bin/lmp build $$d --vmlinux lmp_tui/hub/include/x86 --cflags=-Ilmp_tui/hub/include || true; done
	.venv/bin/python scripts/hub_catalog.py
bench:
	.venv/bin/python bench/ingest.py
