"""What BPF programs cost the kernel, as bpftop measures it: run time per run and CPU %.

The kernel keeps ``run_time_ns`` and ``run_cnt`` per program (``struct bpf_prog_info``) but
counts only while BPF statistics are on, because timing every run costs every program a little.
``BPF_ENABLE_STATS`` turns them on for as long as the fd it returns stays open, so nothing is
left changed when we go, even if we die (the ``kernel.bpf_stats_enabled`` sysctl would stay
flipped). ``enable_run_stats`` shares one such fd per process; a ``CostMeter`` holds a share
while it samples its programs, and the CPU % it derives is of *one* CPU, as bpftop's: programs
running on several CPUs at once can cost more than 100 %.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from ..errors import KernelError
from . import libbpf

BPF_STATS_RUN_TIME = 0
"""``enum bpf_stats_type``: the only kind of statistics there is."""


class BpfProgInfo(ctypes.Structure):
    """``struct bpf_prog_info`` of linux/bpf.h (6.x: 232 bytes); a kernel with a shorter struct
    fills what it knows and says how much in ``info_len``."""

    _fields_ = [
        ("type", ctypes.c_uint32),
        ("id", ctypes.c_uint32),
        ("tag", ctypes.c_uint8 * 8),
        ("jited_prog_len", ctypes.c_uint32),
        ("xlated_prog_len", ctypes.c_uint32),
        ("jited_prog_insns", ctypes.c_uint64),
        ("xlated_prog_insns", ctypes.c_uint64),
        ("load_time", ctypes.c_uint64),
        ("created_by_uid", ctypes.c_uint32),
        ("nr_map_ids", ctypes.c_uint32),
        ("map_ids", ctypes.c_uint64),
        ("name", ctypes.c_char * 16),
        ("ifindex", ctypes.c_uint32),
        ("gpl_compatible", ctypes.c_uint32),  # a 1-bit field and 31 bits of padding
        ("netns_dev", ctypes.c_uint64),
        ("netns_ino", ctypes.c_uint64),
        ("nr_jited_ksyms", ctypes.c_uint32),
        ("nr_jited_func_lens", ctypes.c_uint32),
        ("jited_ksyms", ctypes.c_uint64),
        ("jited_func_lens", ctypes.c_uint64),
        ("btf_id", ctypes.c_uint32),
        ("func_info_rec_size", ctypes.c_uint32),
        ("func_info", ctypes.c_uint64),
        ("nr_func_info", ctypes.c_uint32),
        ("nr_line_info", ctypes.c_uint32),
        ("line_info", ctypes.c_uint64),
        ("jited_line_info", ctypes.c_uint64),
        ("nr_jited_line_info", ctypes.c_uint32),
        ("line_info_rec_size", ctypes.c_uint32),
        ("jited_line_info_rec_size", ctypes.c_uint32),
        ("nr_prog_tags", ctypes.c_uint32),
        ("prog_tags", ctypes.c_uint64),
        ("run_time_ns", ctypes.c_uint64),
        ("run_cnt", ctypes.c_uint64),
        ("recursion_misses", ctypes.c_uint64),
        ("verified_insns", ctypes.c_uint32),
        ("attach_btf_obj_id", ctypes.c_uint32),
        ("attach_btf_id", ctypes.c_uint32),
        ("_pad", ctypes.c_uint32),
    ]


# -- turning the counting on ----------------------------------------------------------------------

_lock = threading.Lock()
_stats_fd: int | None = None
_holders = 0


class StatsHold:
    """One share of the process's ``BPF_ENABLE_STATS`` fd; ``close()`` (idempotent) gives it
    back, and the last share given back closes the fd: the kernel stops counting unless another
    process still holds one."""

    def __init__(self) -> None:
        self._held = True

    @property
    def held(self) -> bool:
        return self._held

    def close(self) -> None:
        global _stats_fd, _holders
        with _lock:
            if not self._held:
                return
            self._held = False
            _holders -= 1
            if _holders == 0 and _stats_fd is not None:
                os.close(_stats_fd)
                _stats_fd = None

    def __enter__(self) -> StatsHold:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def enable_run_stats() -> StatsHold:
    """Have the kernel count every BPF program's runs and run time while the hold is open.

    One fd per process whatever the number of holders. Raises ``KernelError`` when the kernel
    refuses (no CAP_SYS_ADMIN, a kernel before 5.8).
    """
    global _stats_fd, _holders
    with _lock:
        if _stats_fd is None:
            # the kernel opens it O_CLOEXEC: a program we exec does not keep the counting on
            fd = libbpf.lib().bpf_enable_stats(BPF_STATS_RUN_TIME)
            if fd < 0:
                why = libbpf.strerror(fd)
                raise KernelError(f"cannot turn on BPF run-time statistics: {why}")
            _stats_fd = fd
        _holders += 1
    return StatsHold()


def stats_enabled_here() -> bool:
    """This process holds the statistics on (some holder has not closed its share)."""
    return _stats_fd is not None


# -- reading the counters -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Counters:
    """A program's (or a sum of programs') kernel counters at one moment."""

    run_cnt: int = 0
    run_time_ns: int = 0

    def __add__(self, other: Counters) -> Counters:
        return Counters(self.run_cnt + other.run_cnt, self.run_time_ns + other.run_time_ns)

    def __sub__(self, other: Counters) -> Counters:
        # the kernel's counters only grow; never show a negative cost if a reading went wrong
        return Counters(
            max(0, self.run_cnt - other.run_cnt), max(0, self.run_time_ns - other.run_time_ns)
        )


def prog_info(fd: int) -> BpfProgInfo:
    """The kernel's ``bpf_prog_info`` of the program behind ``fd`` (raises ``KernelError``)."""
    info = BpfProgInfo()
    size = ctypes.c_uint32(ctypes.sizeof(info))
    err = libbpf.lib().bpf_obj_get_info_by_fd(fd, ctypes.byref(info), ctypes.byref(size))
    if err:
        raise KernelError(f"cannot read BPF program info: {libbpf.strerror(err)}")
    return info


def counters_of_id(prog_id: int) -> Counters | None:
    """The counters of the program numbered ``prog_id``, None once it is gone."""
    fd = libbpf.lib().bpf_prog_get_fd_by_id(prog_id)
    if fd < 0:
        return None
    try:
        info = prog_info(fd)
    except KernelError:
        return None
    finally:
        os.close(fd)
    return Counters(info.run_cnt, info.run_time_ns)


# -- cost over an interval ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProgramCost:
    """What a set of BPF programs cost over one interval (bpftop's columns), and in all since
    the measuring started."""

    programs: tuple[str, ...]
    run_cnt: int
    """Runs in the interval."""
    run_time_ns: int
    """Time spent running them in the interval, on all CPUs together."""
    wall_ns: int
    """How long the interval was."""
    total_run_cnt: int = 0
    total_run_time_ns: int = 0

    @classmethod
    def between(
        cls,
        programs: Iterable[str],
        before: Counters,
        after: Counters,
        wall_ns: int,
        total: Counters | None = None,
    ) -> ProgramCost:
        delta = after - before
        total = total if total is not None else delta
        return cls(
            tuple(programs),
            delta.run_cnt,
            delta.run_time_ns,
            max(0, wall_ns),
            total.run_cnt,
            total.run_time_ns,
        )

    @property
    def events_per_second(self) -> float:
        return self.run_cnt * 1e9 / self.wall_ns if self.wall_ns else 0.0

    @property
    def ns_per_run(self) -> float:
        return self.run_time_ns / self.run_cnt if self.run_cnt else 0.0

    @property
    def cpu_percent(self) -> float:
        """Percent of one CPU: above 100 when the programs ran on several CPUs at once."""
        return self.run_time_ns * 100 / self.wall_ns if self.wall_ns else 0.0

    @property
    def total_ns_per_run(self) -> float:
        return self.total_run_time_ns / self.total_run_cnt if self.total_run_cnt else 0.0

    def label(self) -> str:
        """``BPF 0.8% CPU · 420 ns/run``: the status bar's words."""
        runs = f"{run_time(self.ns_per_run)}/run" if self.run_cnt else "no runs"
        return f"BPF {percent(self.cpu_percent)} CPU · {runs}"

    def brief(self) -> str:
        """``0.8% · 420 ns``: where space is short (the view tabs)."""
        runs = run_time(self.ns_per_run) if self.run_cnt else "no runs"
        return f"{percent(self.cpu_percent)} · {runs}"


def percent(value: float) -> str:
    """``0.8%``, ``0.03%``, ``120%``: two significant digits where it is small."""
    if value >= 100:
        return f"{value:.0f}%"
    if value >= 0.1 or value == 0:
        return f"{value:.1f}%"
    return f"{value:.2f}%" if value >= 0.01 else "<0.01%"


def run_time(ns: float) -> str:
    """``420 ns``, ``12.3 µs``, ``1.5 ms``: a run time as bpftop's column, scaled once long."""
    if ns < 10_000:
        return f"{ns:.0f} ns"
    if ns < 10_000_000:
        return f"{ns / 1000:.1f} µs"
    return f"{ns / 1e6:.1f} ms"


class CostSource(Protocol):
    """What a run's BPF cost comes from: a ``CostMeter``, or a stand-in (``FixedCost``)."""

    def sample(self) -> ProgramCost:
        """The cost since the previous call (the first: since it was made)."""

    def close(self) -> None: ...


class CostMeter:
    """The cost of a set of programs, interval by interval: each ``sample()`` is the change in
    their counters since the previous one over the wall time between them.

    Programs are given as (name, fd) and read by id, as bpftop reads them: a fd of libbpf's
    closes with its object, and its number may then name something else, while an id stays the
    program's. A program gone since keeps the counters it was last read with. The meter holds a
    share of the statistics fd until ``close()``.
    """

    def __init__(
        self,
        programs: Iterable[tuple[str, int]],
        clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self._clock = clock
        self._hold = enable_run_stats()
        try:
            self._ids = {name: int(prog_info(fd).id) for name, fd in programs}
        except BaseException:
            self._hold.close()
            raise
        self._last = {name: self._read(i) or Counters() for name, i in self._ids.items()}
        self._start = self._sum(self._last)
        self._at = clock()

    @property
    def programs(self) -> tuple[str, ...]:
        return tuple(self._ids)

    @property
    def closed(self) -> bool:
        return not self._hold.held

    @staticmethod
    def _read(prog_id: int) -> Counters | None:
        return counters_of_id(prog_id)

    @staticmethod
    def _sum(counters: dict[str, Counters]) -> Counters:
        total = Counters()
        for c in counters.values():
            total += c
        return total

    def sample(self) -> ProgramCost:
        now = self._clock()
        before = self._sum(self._last)
        if not self.closed:
            for name, prog_id in self._ids.items():
                if (read := self._read(prog_id)) is not None:
                    self._last[name] = read
        after = self._sum(self._last)
        cost = ProgramCost.between(
            self._ids, before, after, now - self._at, total=after - self._start
        )
        self._at = now
        return cost

    def close(self) -> None:
        self._hold.close()

    def __enter__(self) -> CostMeter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_meter(programs: Iterable[tuple[str, int]]) -> CostMeter | None:
    """A meter of ``programs``; None when there are none or this kernel or process cannot
    count (the cost is then simply not shown)."""
    programs = list(programs)
    if not programs:
        return None
    try:
        return CostMeter(programs)
    except KernelError:
        return None


class FixedCost:
    """A ``CostSource`` that says the same cost every time: scripted sessions, tests."""

    def __init__(self, cost: ProgramCost) -> None:
        self.cost = cost

    def sample(self) -> ProgramCost:
        return self.cost

    def close(self) -> None:
        pass
