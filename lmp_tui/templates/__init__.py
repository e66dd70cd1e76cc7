"""Data only: project templates for ``lmp init`` and the C helper layer for wasm apps."""
