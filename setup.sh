#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine, run as root:
#   bash setup.sh run    install everything, then start lmp-tui
#   bash setup.sh test   install everything, then lint, type-check and run the full test suite
# Installing is idempotent: packages already present are not fetched again.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(
  libbpf1 libelf1 zlib1g            # running BPF programs
  clang llvm libbpf-dev bpftool gcc make   # lmp build, the benchmark's C consumer
  libclang1-14                      # lmp build reads doc comments through libclang
  bpftrace                          # bench/startup.py compares start-up with it
  lld wasi-libc libclang-rt-14-dev-wasm32  # lmp build-wasm
  python3 python3-venv python3-dev
  tmux                              # end-to-end TUI test over a real terminal
  docker-registry                   # OCI push/pull tests against a real registry
  util-linux mount                  # setpriv (no-privilege tests), mount (tracefs)
  iproute2 iputils-ping             # XDP/TC tests: network namespaces, veth pairs, pings
  openssl                           # a self-signed CA for the registry TLS test
  prometheus                        # lmp export tests: a real Prometheus; promtool checks deploy/
  openssh-server openssh-client     # lmp-tui --host tests: their own sshd on loopback
  chromium                          # lmp-tui --web tests: a real browser, headless
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The registry package starts a system service on install; our tests start their own on loopback.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl stop docker-registry || true
fi
# Debian's prometheus too (it would hold :9090): the export tests start theirs on free ports.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  systemctl stop prometheus || true
fi

# The interpreter apt installed above, not whichever python3 comes first on PATH (a pyenv or
# conda build): Debian builds it with PGO and LTO, and the exporter's scrapes and the UI's
# frames run about 1.5x faster on it than on a default source build.
PYTHON=${PYTHON:-/usr/bin/python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# compat mode: a .pth path entry instead of an import hook, which costs every start ~13 ms
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]' \
  --config-settings editable_mode=compat
.venv/bin/python -m compileall -q lmp_tui >/dev/null

# libbpf needs tracefs for tracepoints; lmp mounts it on demand too, this just saves a step.
if [ ! -d /sys/kernel/tracing/events ] && [ "$(id -u)" = 0 ]; then
  mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi

case "${1:-run}" in
  run)
    shift || true
    exec .venv/bin/lmp-tui "$@"
    ;;
  test)
    shift || true
    .venv/bin/ruff check lmp_tui tests bench
    .venv/bin/ruff format --check lmp_tui tests bench
    .venv/bin/mypy
    if [ $# -gt 0 ]; then
      exec .venv/bin/pytest -q "$@"
    fi
    .venv/bin/pytest -q --ignore=tests/fuzz
    # The fuzzers in a process of their own: their 256 MB bound is that process's peak.
    exec .venv/bin/pytest -q tests/fuzz
    ;;
  install)
    echo "setup: done; run .venv/bin/lmp or .venv/bin/lmp-tui" >&2
    ;;
  *)
    echo "usage: bash setup.sh [run|test|install]" >&2
    exit 2
    ;;
esac
