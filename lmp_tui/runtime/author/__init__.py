"""Building what users ship: packages from BPF C (``lmp build``), wasm project templates (``lmp init``), wasm skeletons and apps (``lmp gen-wasm-skel``, ``lmp build-wasm``)."""
