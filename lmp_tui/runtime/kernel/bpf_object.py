"""One BPF object in libbpf: opened from bytes, loaded, closed (``attach.py`` attaches its
programs).

Everything that loads BPF goes through here, a package run by ``Program`` as an object a wasm
guest hands over, so a failure reads the same whoever met it: what failed, libbpf's reason, and
the one line of its log a user can act on (the verifier's last words when it refused a program).
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator

from ..errors import KernelError, PackageError
from . import libbpf


class BpfObject:
    def __init__(self, data: bytes, name: str) -> None:
        """Open ``data`` (an ELF object) as ``name``; raises ``PackageError`` if libbpf cannot."""
        lib = libbpf.lib()
        libbpf.log.take()
        # libbpf keeps pointers into the buffer for the object's lifetime: keep it with it
        self._buffer = ctypes.create_string_buffer(data, len(data))
        opts = libbpf.BpfObjectOpenOpts()
        opts.sz = ctypes.sizeof(libbpf.BpfObjectOpenOpts)
        opts.object_name = name.encode() or None
        ptr = lib.bpf_object__open_mem(self._buffer, len(data), ctypes.byref(opts))
        if not ptr:
            raise PackageError(failure("cannot open the BPF object", libbpf.errno()))
        self.ptr: int | None = ptr

    def maps(self) -> Iterator[tuple[str, int]]:
        lib = libbpf.lib()
        m = None
        while m := lib.bpf_object__next_map(self.ptr, m):
            yield lib.bpf_map__name(m).decode(), m

    def programs(self) -> Iterator[tuple[str, str, int]]:
        """(name, section, pointer) of each program."""
        lib = libbpf.lib()
        p = None
        while p := lib.bpf_object__next_program(self.ptr, p):
            yield lib.bpf_program__name(p).decode(), lib.bpf_program__section_name(p).decode(), p

    def load(self, what: str) -> None:
        """Load into the kernel; raises ``KernelError`` saying why ``what`` was refused."""
        libbpf.log.take()
        if err := libbpf.lib().bpf_object__load(self.ptr):
            raise KernelError(failure(f"the kernel refused to load {what}", err))

    def close(self) -> None:
        if self.ptr:
            libbpf.lib().bpf_object__close(self.ptr)
            self.ptr = None


def failure(what: str, err: int) -> str:
    """``what: reason (the line of libbpf's log that says why)``, as short as a user needs it."""
    detail = failure_reason(libbpf.log.take())
    msg = f"{what}: {libbpf.strerror(err) if err else 'unknown error'}"
    return f"{msg} ({detail})" if detail else msg


_VERIFIER_STATS = ("processed ", "verification time", "stack depth", "max_states_per_insn")


def failure_reason(lines: list[str]) -> str:
    """The one line of libbpf's log a user can act on.

    When the verifier refused a program, that is the verifier's last words (before its
    statistics), not libbpf's closing "failed to load object"; otherwise libbpf's last line.
    """
    if "-- END PROG LOAD LOG --" in lines:
        end = lines.index("-- END PROG LOAD LOG --")
        start = max(
            (i for i, ln in enumerate(lines[:end]) if "BEGIN PROG LOAD LOG" in ln), default=-1
        )
        for line in reversed(lines[start + 1 : end]):
            if line.strip() and not line.strip().startswith(_VERIFIER_STATS):
                return line.strip()
    for line in reversed(lines):
        if line.strip() and not line.startswith("-- END"):
            return line.strip().removeprefix("libbpf: ")
    return ""
