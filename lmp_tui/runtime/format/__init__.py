"""Untrusted artifacts, parsed and checked without a kernel: ELF objects, BTF, struct layouts, eunomia ``package.json`` and the parameters it declares."""
