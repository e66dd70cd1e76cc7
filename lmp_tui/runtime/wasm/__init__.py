"""Hosts for WebAssembly apps: the wasm-bpf ABI (WASI guests) and eunomia's legacy ewasm ABI, on wasmtime."""
