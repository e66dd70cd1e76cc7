"""lmp-tui: run, watch, record and share eunomia-bpf / LMP eBPF programs."""

__version__ = "0.1.0"
