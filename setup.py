"""The one compiled part of lmp-tui: the ring/perf buffer drain thread (lmp_tui/runtime/kernel/native).

Built as an extension module so `pip install` compiles it, but loaded with ctypes: it does not
use the Python C API at all, and ctypes calls release the GIL. Needs gcc and libbpf's headers
(Debian: gcc libbpf-dev), which setup.sh installs.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "lmp_tui.runtime.kernel.native._lmp_stream",
            sources=["lmp_tui/runtime/kernel/native/lmp_stream.c"],
            libraries=["bpf", "pthread"],
            extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wextra"],
        )
    ]
)
