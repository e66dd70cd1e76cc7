"""ctypes bindings to the system ``libbpf.so.1``: just the calls the runtime makes.

libbpf's own log is captured (``libbpf_set_print``) so its lines become part of our error
messages instead of going raw to the terminal.
"""

from __future__ import annotations

import ctypes
import os
import threading
from ctypes import (
    CFUNCTYPE,
    POINTER,
    c_bool,
    c_char_p,
    c_int,
    c_size_t,
    c_uint,
    c_uint32,
    c_uint64,
    c_void_p,
)

from ..errors import KernelError

_lib: ctypes.CDLL | None = None
_libc = ctypes.CDLL(None, use_errno=True)
_libc.vsnprintf.argtypes = [c_char_p, c_size_t, c_char_p, c_void_p]
_libc.vsnprintf.restype = c_int

LIBBPF_WARN, LIBBPF_INFO, LIBBPF_DEBUG = 0, 1, 2
_PRINT_FN = CFUNCTYPE(c_int, c_int, c_char_p, c_void_p)


class _Log:
    """libbpf messages since the last ``take()``, per thread (libbpf calls back synchronously)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self.verbose = False

    @property
    def lines(self) -> list[str]:
        if not hasattr(self._local, "lines"):
            self._local.lines = []
        return self._local.lines

    def add(self, level: int, text: str) -> None:
        if level == LIBBPF_DEBUG and not self.verbose:
            return
        self.lines.extend(line for line in text.splitlines() if line.strip())
        del self.lines[:-200]

    def take(self) -> list[str]:
        lines = list(self.lines)
        self.lines.clear()
        return lines


log = _Log()


# libbpf hands the whole verifier log over in one message; 1 MiB holds any log it keeps.
_LOG_BUFFER_SIZE = 1 << 20


@_PRINT_FN  # type: ignore[untyped-decorator]  # a ctypes callback type
def _print(level: int, fmt: bytes, args: int) -> int:
    buf = ctypes.create_string_buffer(_LOG_BUFFER_SIZE)
    _libc.vsnprintf(buf, len(buf), fmt, args)
    log.add(level, buf.value.decode("utf-8", "replace"))
    return 0


class BpfObjectOpenOpts(ctypes.Structure):
    # libbpf 1.1 ``struct bpf_object_open_opts`` up to btf_custom_path; ``sz`` tells libbpf where
    # our copy ends, so the newer fields read as zero.
    _fields_ = [
        ("sz", c_size_t),
        ("object_name", c_char_p),
        ("relaxed_maps", c_bool),
        ("pin_root_path", c_char_p),
        ("_attach_prog_fd", c_uint32),
        ("kconfig", c_char_p),
        ("btf_custom_path", c_char_p),
    ]


class ProgLoadOpts(ctypes.Structure):
    # libbpf 1.1 ``struct bpf_prog_load_opts`` up to attach_prog_fd (40 bytes, no padding);
    # ``sz`` tells libbpf where our copy ends, so the later fields read as zero.
    _fields_ = [
        ("sz", ctypes.c_size_t),
        ("attempts", ctypes.c_int),
        ("expected_attach_type", ctypes.c_int),
        ("prog_btf_fd", ctypes.c_uint32),
        ("prog_flags", ctypes.c_uint32),
        ("prog_ifindex", ctypes.c_uint32),
        ("kern_version", ctypes.c_uint32),
        ("attach_btf_id", ctypes.c_uint32),
        ("attach_prog_fd", ctypes.c_uint32),
    ]


class LinkCreateOpts(ctypes.Structure):
    # the head of libbpf's ``struct bpf_link_create_opts``; ``sz`` tells it where ours ends
    _fields_ = [("sz", ctypes.c_size_t), ("flags", ctypes.c_uint32)]


class TcHook(ctypes.Structure):
    # ``struct bpf_tc_hook`` and ``struct bpf_tc_opts`` (libbpf.h), whole
    _fields_ = [
        ("sz", ctypes.c_size_t),
        ("ifindex", ctypes.c_int),
        ("attach_point", ctypes.c_int),
        ("parent", ctypes.c_uint32),
    ]


class TcOpts(ctypes.Structure):
    _fields_ = [
        ("sz", ctypes.c_size_t),
        ("prog_fd", ctypes.c_int),
        ("flags", ctypes.c_uint32),
        ("prog_id", ctypes.c_uint32),
        ("handle", ctypes.c_uint32),
        ("priority", ctypes.c_uint32),
    ]


_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "libbpf_set_print": (c_void_p, [_PRINT_FN]),
    "libbpf_num_possible_cpus": (c_int, []),
    "libbpf_strerror": (c_int, [c_int, c_char_p, c_size_t]),
    "bpf_object__open_mem": (c_void_p, [c_void_p, c_size_t, POINTER(BpfObjectOpenOpts)]),
    "bpf_object__load": (c_int, [c_void_p]),
    "bpf_object__close": (None, [c_void_p]),
    "bpf_object__next_program": (c_void_p, [c_void_p, c_void_p]),
    "bpf_object__next_map": (c_void_p, [c_void_p, c_void_p]),
    "bpf_program__name": (c_char_p, [c_void_p]),
    "bpf_program__section_name": (c_char_p, [c_void_p]),
    "bpf_program__set_autoload": (c_int, [c_void_p, c_bool]),
    "bpf_program__autoload": (c_bool, [c_void_p]),
    "bpf_program__attach": (c_void_p, [c_void_p]),
    "bpf_program__fd": (c_int, [c_void_p]),
    "bpf_link__destroy": (c_int, [c_void_p]),
    "bpf_map__name": (c_char_p, [c_void_p]),
    "bpf_map__type": (c_int, [c_void_p]),
    "bpf_map__fd": (c_int, [c_void_p]),
    "bpf_map__key_size": (c_uint32, [c_void_p]),
    "bpf_map__value_size": (c_uint32, [c_void_p]),
    "bpf_map__max_entries": (c_uint32, [c_void_p]),
    "bpf_map__set_max_entries": (c_int, [c_void_p, c_uint32]),
    "bpf_map__btf_key_type_id": (c_uint32, [c_void_p]),
    "bpf_map__btf_value_type_id": (c_uint32, [c_void_p]),
    "bpf_map__set_initial_value": (c_int, [c_void_p, c_void_p, c_size_t]),
    "bpf_map__initial_value": (c_void_p, [c_void_p, POINTER(c_size_t)]),
    "bpf_map__is_internal": (c_bool, [c_void_p]),
    "bpf_map_lookup_elem": (c_int, [c_int, c_void_p, c_void_p]),
    "bpf_map_update_elem": (c_int, [c_int, c_void_p, c_void_p, c_uint64]),
    "bpf_map_delete_elem": (c_int, [c_int, c_void_p]),
    "bpf_map_get_next_key": (c_int, [c_int, c_void_p, c_void_p]),
    "bpf_map_lookup_elem_flags": (c_int, [c_int, c_void_p, c_void_p, c_uint64]),
    "bpf_map_delete_elem_flags": (c_int, [c_int, c_void_p, c_uint64]),
    "bpf_object__find_program_by_name": (c_void_p, [c_void_p, c_char_p]),
    "bpf_program__attach_cgroup": (c_void_p, [c_void_p, c_int]),
    "bpf_program__attach_xdp": (c_void_p, [c_void_p, c_int]),
    "libbpf_probe_bpf_prog_type": (c_int, [c_int, c_void_p]),
    "bpf_program__type": (c_int, [c_void_p]),
    "bpf_program__expected_attach_type": (c_int, [c_void_p]),
    # attaching what libbpf cannot auto-attach: XDP, TC, perf events (from package metadata),
    # and the probes of kernel features (``probe.py``)
    "bpf_prog_load": (c_int, [c_int, c_char_p, c_char_p, c_void_p, c_size_t, c_void_p]),
    "bpf_link_create": (c_int, [c_int, c_int, c_int, c_void_p]),
    "bpf_program__attach_perf_event": (c_void_p, [c_void_p, c_int]),
    "bpf_tc_hook_create": (c_int, [c_void_p]),
    "bpf_tc_hook_destroy": (c_int, [c_void_p]),
    "bpf_tc_attach": (c_int, [c_void_p, c_void_p]),
    "bpf_tc_detach": (c_int, [c_void_p, c_void_p]),
    "bpf_tc_query": (c_int, [c_void_p, c_void_p]),
    # buffers polled by libbpf itself: wasm-bpf guests ask for them (lmp's own sources drain
    # maps in a native thread instead)
    "ring_buffer__new": (c_void_p, [c_int, c_void_p, c_void_p, c_void_p]),
    "ring_buffer__poll": (c_int, [c_void_p, c_int]),
    "ring_buffer__free": (None, [c_void_p]),
    "perf_buffer__new": (c_void_p, [c_int, c_size_t, c_void_p, c_void_p, c_void_p, c_void_p]),
    "perf_buffer__poll": (c_int, [c_void_p, c_int]),
    "perf_buffer__free": (None, [c_void_p]),
    # what programs cost (``stats.py``): libbpf 1.1 has no bpf_prog_get_info_by_fd yet
    "bpf_enable_stats": (c_int, [c_int]),
    "bpf_obj_get_info_by_fd": (c_int, [c_int, c_void_p, POINTER(c_uint32)]),
    "bpf_prog_get_fd_by_id": (c_int, [c_uint32]),
}

# int (*)(void *ctx, void *data, size_t size)
RING_SAMPLE_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t)
# void (*)(void *ctx, int cpu, void *data, __u32 size) and void (*)(void *ctx, int cpu, __u64 n)
PERF_SAMPLE_FN = CFUNCTYPE(None, c_void_p, c_int, c_void_p, c_uint32)
PERF_LOST_FN = CFUNCTYPE(None, c_void_p, c_int, c_uint64)


def lib() -> ctypes.CDLL:
    """The loaded libbpf, with prototypes set and its log captured."""
    global _lib
    if _lib is None:
        try:
            handle = ctypes.CDLL("libbpf.so.1", use_errno=True)
        except OSError:
            # find_library runs ldconfig in a subprocess: only worth it when the soname failed
            from ctypes.util import find_library

            try:
                handle = ctypes.CDLL(find_library("bpf") or "libbpf.so.1", use_errno=True)
            except OSError:
                raise KernelError("libbpf.so.1 is not installed: apt-get install libbpf1") from None
        for name, (restype, argtypes) in _SIGNATURES.items():
            fn = getattr(handle, name)
            fn.restype = restype
            fn.argtypes = argtypes
        handle.libbpf_set_print(_print)
        _lib = handle
    return _lib


def strerror(err: int) -> str:
    err = abs(err)
    buf = ctypes.create_string_buffer(256)
    lib().libbpf_strerror(err, buf, len(buf))
    return buf.value.decode() or os.strerror(err)


def errno() -> int:
    return ctypes.get_errno()


__all__ = [
    "PERF_LOST_FN",
    "LinkCreateOpts",
    "ProgLoadOpts",
    "TcHook",
    "TcOpts",
    "PERF_SAMPLE_FN",
    "RING_SAMPLE_FN",
    "BpfObjectOpenOpts",
    "c_uint",
    "errno",
    "lib",
    "log",
    "strerror",
]
