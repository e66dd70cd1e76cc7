"""The kernel side: libbpf through ctypes, loaded and attached programs, what this kernel can run, and the sources that drain BPF maps (a native thread per ring or perf buffer)."""
