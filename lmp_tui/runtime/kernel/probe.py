"""What this kernel offers: privileges, tracefs, tracepoints, BTF, kprobes, trampolines, LSM ...

Used before loading (so a missing tracepoint is one clear line, not a libbpf log) and by
``lmp list`` and the sidebar, which say up front what this kernel cannot run. ``missing()`` has no
lasting effect on the system (it mounts nothing; a probe that loads a program closes it again) and
each probe runs once per process.

Reasons read after "program X needs" once ``program.py`` drops their "this kernel has no ", so
a missing feature is worded "this kernel has no <feature>" and a missing kernel object
"<object> does not exist on this kernel".
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..cache import cache_dir
from ..errors import KernelError, LayoutError
from ..format.btf import Kind, NameIndex, scan_names, string_section
from . import libbpf

TRACEFS = Path("/sys/kernel/tracing")
# Where older systems mount tracefs (debugfs mounts it there by itself when it is first used).
DEBUG_TRACEFS = Path("/sys/kernel/debug/tracing")
VMLINUX_BTF = Path("/sys/kernel/btf/vmlinux")
KPROBE_PMU = Path("/sys/bus/event_source/devices/kprobe")
UPROBE_PMU = Path("/sys/bus/event_source/devices/uprobe")
SECURITYFS_LSM = Path("/sys/kernel/security/lsm")
CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF = 21, 38, 39

# enum bpf_prog_type and enum bpf_attach_type (include/uapi/linux/bpf.h)
BPF_PROG_TYPE_KPROBE, BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_XDP = 2, 3, 6
BPF_PROG_TYPE_PERF_EVENT, BPF_PROG_TYPE_TRACING, BPF_PROG_TYPE_STRUCT_OPS = 7, 26, 27
BPF_PROG_TYPE_LSM = 29
BPF_TRACE_FENTRY, BPF_TRACE_KPROBE_MULTI = 24, 42
LSM_ID_BPF = 109  # include/uapi/linux/lsm.h
ENOTSUPP = 524  # the kernel's internal "not supported", which BPF lets through to user space

# ``r0 = 0; exit``: BPF_ALU64|BPF_MOV|BPF_K to r0, then BPF_JMP|BPF_EXIT (two struct bpf_insn)
_RETURN_ZERO = bytes.fromhex("b7 00 00 00 00 00 00 00  95 00 00 00 00 00 00 00")

# Kernel functions a trampoline probe attaches to, best first. bpf_fentry_test1 exists for the
# kernel's own fentry tests and only BPF_PROG_TEST_RUN calls it, so attaching there touches
# nothing else; the others are in any kernel, and the probe's program does nothing anyway.
_TRAMPOLINE_TARGETS = ("bpf_fentry_test1", "bpf_modify_return_test", "do_sys_openat2", "vfs_read")

# What each program type is called in a reason ("this kernel has no BPF <label> support").
_PROG_TYPES = {
    "xdp": (BPF_PROG_TYPE_XDP, "XDP"),
    "sched_cls": (BPF_PROG_TYPE_SCHED_CLS, "TC (sched_cls)"),
    "perf_event": (BPF_PROG_TYPE_PERF_EVENT, "perf_event"),
    "struct_ops": (BPF_PROG_TYPE_STRUCT_OPS, "struct_ops"),
}


@dataclass(frozen=True, slots=True)
class Requirement:
    """One thing a program's attach point needs from the kernel.

    ``kind``: "tracepoint", "btf_tracepoint" (tp_btf), "raw_tracepoint", "kprobe",
    "kprobe_multi", "uprobe", "fentry" (and fexit, fmod_ret), "freplace", "lsm", "iter" or
    "prog_type" (``name`` is then a key of ``_PROG_TYPES``). ``attach`` is the section's prefix
    ("fexit", "lsm.s"), to name what needs a feature.
    """

    kind: str
    name: str
    attach: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


_SECTION_KINDS: dict[str, str] = {
    "tracepoint": "tracepoint",
    "tp": "tracepoint",
    "tp_btf": "btf_tracepoint",
    "raw_tp": "raw_tracepoint",
    "raw_tracepoint": "raw_tracepoint",
    "raw_tp.w": "raw_tracepoint",
    "raw_tracepoint.w": "raw_tracepoint",
    "kprobe": "kprobe",
    "kretprobe": "kprobe",
    "ksyscall": "kprobe",
    "kretsyscall": "kprobe",
    "kprobe.multi": "kprobe_multi",
    "kretprobe.multi": "kprobe_multi",
    "kprobe.session": "kprobe_multi",
    "uprobe": "uprobe",
    "uretprobe": "uprobe",
    "uprobe.s": "uprobe",
    "uretprobe.s": "uprobe",
    "uprobe.multi": "uprobe",
    "uretprobe.multi": "uprobe",
    "usdt": "uprobe",
    "fentry": "fentry",
    "fexit": "fentry",
    "fmod_ret": "fentry",
    "fentry.s": "fentry",
    "fexit.s": "fentry",
    "fmod_ret.s": "fentry",
    "freplace": "freplace",
    "lsm": "lsm",
    "lsm.s": "lsm",
    "lsm_cgroup": "lsm",
    "iter": "iter",
    "iter.s": "iter",
}
_SECTION_PROG_TYPES: dict[str, str] = {
    "struct_ops": "struct_ops",
    "struct_ops.s": "struct_ops",
    "xdp": "xdp",
    "xdp.frags": "xdp",
    "tc": "sched_cls",
    "classifier": "sched_cls",
    "tcx": "sched_cls",
    "perf_event": "perf_event",
}


def requirement_for(section: str) -> Requirement | None:
    """What attaching a program of this ELF section needs (None: nothing we check)."""
    prefix, _, rest = section.partition("/")
    if kind := _SECTION_KINDS.get(prefix):
        return Requirement(kind, rest, prefix)
    if prog_type := _SECTION_PROG_TYPES.get(prefix):
        return Requirement("prog_type", prog_type, prefix)
    return None


def capabilities() -> int:
    """The effective capability mask of this process."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


def can_use_bpf() -> str | None:
    """None when we may load tracing programs, else why not (one line)."""
    caps = capabilities()
    if caps & (1 << CAP_SYS_ADMIN) or (caps & (1 << CAP_BPF) and caps & (1 << CAP_PERFMON)):
        return None
    return (
        "loading BPF programs needs root (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN): "
        "run it with sudo"
    )


_TRACEFS_UNMOUNTED = (
    f"tracefs is not mounted at {TRACEFS}: run `sudo mount -t tracefs nodev {TRACEFS}`"
)


def ensure_tracefs() -> None:
    """Make ``/sys/kernel/tracing`` usable, mounting it when we are allowed to.

    The one place that mounts: ``lmp run`` calls it before loading a tracepoint program."""
    if (TRACEFS / "events").is_dir():
        return
    if capabilities() & (1 << CAP_SYS_ADMIN):
        # mount(2) itself: no mount(8) to find, no subprocess to start
        _libc().mount(b"nodev", os.fsencode(TRACEFS), b"tracefs", ctypes.c_ulong(0), None)
        if (TRACEFS / "events").is_dir():
            return
    raise KernelError(_TRACEFS_UNMOUNTED)


def missing(req: Requirement) -> str | None:
    """None when this kernel has what ``req`` names (or we cannot tell), else the reason in a
    few words. Changes nothing on the system."""
    match req.kind:
        case "tracepoint":
            return _missing_tracepoint(req.name)
        case "btf_tracepoint" | "raw_tracepoint":
            return _missing_raw_tracepoint(req)
        case "kprobe" | "kprobe_multi":
            if not KPROBE_PMU.exists():
                return "this kernel has no kprobe support (CONFIG_KPROBES is off)"
            if req.kind == "kprobe_multi" and kprobe_multi() is False:
                return "this kernel has no multi-kprobe links (CONFIG_FPROBE is off)"
        case "uprobe":
            if not UPROBE_PMU.exists():
                return "this kernel has no uprobe support (CONFIG_UPROBE_EVENTS is off)"
        case "fentry":
            return _missing_kernel_function(req.name) or _missing_trampolines(req)
        case "freplace":
            return _missing_trampolines(req)
        case "lsm":
            return _missing_lsm(req)
        case "iter":
            return _missing_iter(req.name)
        case "prog_type":
            prog_type, label = _PROG_TYPES[req.name]
            if prog_type_supported(prog_type) is False:
                return f"this kernel has no BPF {label} support"
    return None


# Requirements a program cannot even be loaded without (the others fail only when attaching).
_LOAD_TIME = frozenset({"btf_tracepoint", "fentry", "freplace", "lsm", "iter", "prog_type"})


def refusal(section: str, at_load: bool = False) -> str | None:
    """Why this kernel cannot run a program of ``section``, worded to stand alone: the one
    answer ``lmp run``, ``lmp list`` and the sidebar give. ``at_load``: only what would stop the
    object from loading (a wasm guest may load programs it never attaches)."""
    req = requirement_for(section)
    if req is None or (at_load and req.kind not in _LOAD_TIME) or not (why := missing(req)):
        return None
    feature = why.removeprefix("this kernel has no ")
    return f"{section} needs {feature}" if feature != why else why


# -- kinds of requirement ------------------------------------------------------------------------


def _missing_tracepoint(name: str) -> str | None:
    if "/" not in name:
        return f"bad tracepoint section name {name!r}"
    for root in (TRACEFS, DEBUG_TRACEFS):
        try:
            if (root / "events").is_dir():
                if not (root / "events" / name / "id").exists():
                    return f"tracepoint {name} does not exist on this kernel"
                return None
        except PermissionError:
            # tracefs is root's (mode 700): whoever may not read it may not load BPF either,
            # and that is the reason to give (``can_use_bpf``), not a tracepoint we cannot see
            return None
    # tracefs is not mounted. The kernel's BTF cannot stand in for it: it names a tracepoint's
    # raw form (btf_trace_<event>), not its tracefs event (syscalls/sys_enter_* have no typedef
    # of their own; event classes name several events), so it could confirm but never deny.
    # When we may mount it (``lmp run`` will) or may not load BPF at all (that is the reason to
    # give), the tracepoint is assumed present; ``lmp run`` checks it once tracefs is mounted.
    if capabilities() & (1 << CAP_SYS_ADMIN) or can_use_bpf() is not None:
        return None
    return _TRACEFS_UNMOUNTED


def _missing_raw_tracepoint(req: Requirement) -> str | None:
    if not req.name:
        return None  # the target is given at attach time
    found = kernel_has(Kind.TYPEDEF, f"btf_trace_{req.name}")
    if found is None:
        if req.kind == "raw_tracepoint":
            return None  # raw_tp attaches by name, BTF or not: nothing to check it against
        return _NO_BTF
    if not found:
        return f"raw tracepoint {req.name} does not exist on this kernel"
    return None


def _missing_kernel_function(name: str) -> str | None:
    if not name or ":" in name:
        return None  # set at load time, or a module's function named as "module:function"
    found = kernel_has(Kind.FUNC, name)
    if found is None:
        return _NO_BTF
    if not found:
        return f"kernel function {name} does not exist on this kernel"
    return None


def _missing_trampolines(req: Requirement) -> str | None:
    if trampolines() is False:
        return f"this kernel has no BPF trampolines, which {req.attach} programs attach through"
    return None


def _missing_lsm(req: Requirement) -> str | None:
    index = vmlinux_index(Kind.FUNC)
    if index is None:
        return _NO_BTF
    # every LSM hook has a bpf_lsm_<hook> function when CONFIG_BPF_LSM is on (libbpf attaches
    # lsm/<hook> to it)
    if not index.has_prefix(Kind.FUNC, "bpf_lsm_"):
        return "this kernel has no BPF LSM (CONFIG_BPF_LSM is off)"
    if req.name and index.find(Kind.FUNC, f"bpf_lsm_{req.name}") is None:
        return f"LSM hook {req.name} does not exist on this kernel"
    if bpf_lsm_active() is False:
        return "this kernel has no active BPF LSM (bpf is not in its lsm= list)"
    if why := _missing_trampolines(req):
        return why
    if prog_type_supported(BPF_PROG_TYPE_LSM) is False:
        return "this kernel has no BPF LSM program support"
    return None


def _missing_iter(name: str) -> str | None:
    if not name:
        return None
    # libbpf finds iter/<target> as the function bpf_iter_<target>; iterators need no trampoline
    found = kernel_has(Kind.FUNC, f"bpf_iter_{name}")
    if found is None:
        return _NO_BTF
    if not found:
        return f"BPF iterator {name} does not exist on this kernel"
    return None


_NO_BTF = f"this kernel has no BTF ({VMLINUX_BTF} is missing: CONFIG_DEBUG_INFO_BTF is off)"


# -- the kernel's BTF ----------------------------------------------------------------------------


@cache
def vmlinux_index(kind: Kind) -> NameIndex | None:
    """The names of the vmlinux BTF records of one kind; None without BTF.

    One kind per scan: tp_btf programs (on ``lmp run``'s start path) only need typedefs, the
    cheaper scan (~20 ms against ~40 ms for functions)."""
    raw = _vmlinux_btf()
    if not raw:
        return None
    path = _index_path(raw, kind)
    strings = string_section(raw)
    with contextlib.suppress(OSError):
        if (index := NameIndex.load(strings, kind, path.read_bytes())) is not None:
            return index
    index = scan_names(raw, (kind,))
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}")
        partial.write_bytes(index.dump(kind))
        partial.replace(path)  # whole or not at all, whoever reads it meanwhile
    return index


def _index_path(raw: bytes, kind: Kind) -> Path:
    """Where the index of ``kind`` for this BTF is kept: named by the kernel release and the
    BTF's size and CRC-32 (~2 ms for the 5 MB), so another kernel's never answers for it."""
    name = f"{os.uname().release}-{len(raw)}-{zlib.crc32(raw):08x}-{kind.name.lower()}"
    return cache_dir() / "btf-index" / name


@cache
def _vmlinux_btf() -> bytes:
    try:
        return VMLINUX_BTF.read_bytes()
    except OSError:
        return b""


@cache
def _module_indexes(kind: Kind) -> tuple[NameIndex, ...]:
    """The same for each module's BTF (split BTF on top of vmlinux's)."""
    raw = _vmlinux_btf()
    base = vmlinux_index(kind)
    if not raw or base is None:
        return ()
    base_strings = string_section(raw)  # module names may point into the base's strings
    out = []
    for path in sorted(VMLINUX_BTF.parent.iterdir()):
        if path.name == VMLINUX_BTF.name:
            continue
        try:
            out.append(
                scan_names(
                    path.read_bytes(), (kind,), base_strings=base_strings, first_id=base.next_id
                )
            )
        except (OSError, LayoutError):
            continue
    return tuple(out)


def kernel_has(kind: Kind, name: str) -> bool | None:
    """Whether the kernel's BTF has a ``kind`` record named ``name`` (vmlinux first, then the
    modules, as libbpf looks); None when the kernel has no BTF."""
    index = vmlinux_index(kind)
    if index is None:
        return None
    if index.find(kind, name) is not None:
        return True
    return any(m.find(kind, name) is not None for m in _module_indexes(kind))


# -- probes that load a program (each once per process) -----------------------------------------


# Failures that say nothing about the kernel's features: out of memory or descriptors.
_TRANSIENT = frozenset({errno.ENOMEM, errno.EAGAIN, errno.EMFILE, errno.ENFILE})


def _load(prog_type: int, attach_type: int = 0, attach_btf_id: int = 0) -> int:
    """Load ``r0 = 0; exit``: its fd, or -errno."""
    opts = libbpf.ProgLoadOpts(
        sz=ctypes.sizeof(libbpf.ProgLoadOpts),
        expected_attach_type=attach_type,
        attach_btf_id=attach_btf_id,
    )
    fd = libbpf.lib().bpf_prog_load(
        prog_type, b"lmp_probe", b"GPL", _RETURN_ZERO, len(_RETURN_ZERO) // 8, ctypes.byref(opts)
    )
    return int(fd)


def _link(prog_fd: int, attach_type: int) -> int:
    """``bpf_link_create`` with no target and no options: its fd, or -errno."""
    return int(libbpf.lib().bpf_link_create(prog_fd, 0, attach_type, None))


def _can_probe() -> bool:
    if can_use_bpf() is not None:
        return False  # we would only learn that we lack privileges
    try:
        libbpf.lib()
    except KernelError:
        return False
    return True


@cache
def trampolines() -> bool | None:
    """Whether fentry programs load and attach (BPF trampolines); None when we cannot tell.

    libbpf's probe of BPF_PROG_TYPE_TRACING does not answer this: it loads against attach id 1
    and takes the verifier's "attach_btf_id 1 is not a function" as a yes, while a kernel may
    know the type and still refuse trampolines. So load a no-op fentry program against a real
    kernel function and attach it, as libbpf would, then close both (nothing stays attached).

    Seen on a 6.18 kernel built with trampoline support (DYNAMIC_FTRACE_WITH_DIRECT_CALLS) that
    refuses ftrace function hooks (the function tracer and set_ftrace_filter fail with EPERM):
    BPF_PROG_LOAD fails with EPERM before the verifier logs a word, for fentry, fexit,
    fmod_ret, lsm and freplace alike (libbpf's TRACING and LSM probes say no for that reason),
    while tp_btf and iter programs, which need no trampoline, load and attach.
    """
    if not _can_probe():
        return None
    index = vmlinux_index(Kind.FUNC)
    if index is None:
        return None
    target = next((t for n in _TRAMPOLINE_TARGETS if (t := index.find(Kind.FUNC, n))), None)
    if target is None:
        return None
    prog = _load(BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, target)
    if prog < 0:
        return None if -prog in _TRANSIENT else False
    try:
        link = _link(prog, BPF_TRACE_FENTRY)
        if link < 0:
            return None if -link in _TRANSIENT else False
        os.close(link)
        return True
    finally:
        os.close(prog)


@cache
def kprobe_multi() -> bool | None:
    """Whether kprobe.multi links exist (CONFIG_FPROBE); None when we cannot tell.

    A kprobe program of attach type BPF_TRACE_KPROBE_MULTI, linked to no functions at all:
    a kernel with multi-kprobes refuses the empty list (EINVAL), one without them refuses the
    link type (EOPNOTSUPP); a kernel older than them refuses the attach type at load."""
    if not _can_probe():
        return None
    prog = _load(BPF_PROG_TYPE_KPROBE, BPF_TRACE_KPROBE_MULTI)
    if prog < 0:
        return None if -prog in _TRANSIENT else False
    try:
        link = _link(prog, BPF_TRACE_KPROBE_MULTI)
        if link >= 0:  # not expected with no functions; supported all the same
            os.close(link)
            return True
        return -link not in (errno.EOPNOTSUPP, ENOTSUPP)
    finally:
        os.close(prog)


@cache
def prog_type_supported(prog_type: int) -> bool | None:
    """libbpf's probe of a program type (``libbpf_probe_bpf_prog_type``); None when we cannot
    tell. Not for BPF_PROG_TYPE_TRACING: see ``trampolines``."""
    if not _can_probe():
        return None
    result = libbpf.lib().libbpf_probe_bpf_prog_type(prog_type, None)
    return None if result < 0 else bool(result)


# -- LSMs ----------------------------------------------------------------------------------------

# lsm_list_modules(2) (Linux 6.8) has the same number on the architectures lmp runs on.
_SYS_LSM_LIST_MODULES = 461
_LSM_SYSCALL_MACHINES = frozenset({"x86_64", "aarch64", "riscv64", "ppc64le", "s390x"})


@cache
def bpf_lsm_active() -> bool | None:
    """Whether the BPF LSM is among the active LSMs; None when we cannot tell.

    Asked of the kernel with lsm_list_modules(2), else read from securityfs if it is mounted
    (mounting it would be a side effect)."""
    ids = _lsm_ids()
    if ids is not None:
        return LSM_ID_BPF in ids
    try:
        return "bpf" in SECURITYFS_LSM.read_text().strip().split(",")
    except OSError:
        return None


def _lsm_ids() -> list[int] | None:
    if os.uname().machine not in _LSM_SYSCALL_MACHINES:
        return None
    libc = _libc()
    ids = (ctypes.c_uint64 * 64)()
    size = ctypes.c_uint32(ctypes.sizeof(ids))
    count = libc.syscall(
        ctypes.c_long(_SYS_LSM_LIST_MODULES), ids, ctypes.byref(size), ctypes.c_uint32(0)
    )
    if count < 0:
        return None  # ENOSYS before 6.8
    return list(ids[: min(count, len(ids))])


@cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def kernel_release() -> str:
    return os.uname().release
