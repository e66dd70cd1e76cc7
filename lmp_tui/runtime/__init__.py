"""The lmp-tui runtime: packages, BTF layouts, libbpf, event sources, decoding, storage.

This package is a library. It never imports Textual, Rich or anything in ``lmp_tui.widgets``;
``tests/test_layers.py`` enforces that.
"""
