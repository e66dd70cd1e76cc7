"""Each key's latest state, for streams whose events describe state rather than happenings.

procstat reports a process's memory every time one of its threads leaves a CPU: as a log that
is thousands of rows repeating a few hundred processes. What a user wants is top's view, one
row per process with its latest values, and threads only on demand. Two pieces make it:

- ``ThreadTotals`` folds per-thread running totals (context switches) into per-process ones,
  as ``/proc/PID/status`` adds up its threads: without it a process's rate would jump between
  its threads' unrelated totals.
- ``LatestRows`` keeps the newest row per key, marks keys whose end was reported (an
  ``exited`` field) and lets them go ``EXITED_SECONDS`` later, as htop lets dead processes go.

Both take whole batches: work per batch is numpy over the batch plus one dict lookup per
distinct key in it, never per event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ...format.layout import StructLayout
from ...lazy import np
from .frozen import FrozenRows

DEFAULT_MAX_THREADS = 8192
DEFAULT_MAX_ROWS = 4096
EXITED_SECONDS = 10.0
"""How long a key whose end was reported stays listed (marked) before it goes."""


def last_of_each(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``keys`` (sorted) and the index of each one's last occurrence."""
    uniq, first_rev = np.unique(keys[::-1], return_index=True)
    return uniq, len(keys) - 1 - first_rev


class KeySlots:
    """Keys to slots of fixed-size arrays: slots of keys let go are handed out again; when
    all are taken, ``evict`` picks (from the used slots) the one to take over."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._slots: dict[int, int] = {}
        self._keys: dict[int, int] = {}
        """Slot -> key, to evict without a search."""
        self._free: list[int] = []
        self._next = 0

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, key: int) -> bool:
        return key in self._slots

    def get(self, key: int) -> int | None:
        return self._slots.get(key)

    def used(self) -> np.ndarray:
        return np.fromiter(self._slots.values(), np.int64, len(self._slots))

    def clear(self) -> None:
        self._slots.clear()
        self._keys.clear()
        self._free.clear()
        self._next = 0

    def release(self, slots: np.ndarray) -> None:
        for slot in slots.tolist():
            del self._slots[self._keys.pop(slot)]
            self._free.append(slot)

    def slot_for(self, key: int, evict: Callable[[np.ndarray], int]) -> tuple[int, bool]:
        """``key``'s slot, and whether it was just given (its old content is another's)."""
        slot = self._slots.get(key)
        if slot is not None:
            return slot, False
        if self._free:
            slot = self._free.pop()
        elif self._next < self.capacity:
            slot, self._next = self._next, self._next + 1
        else:
            slot = evict(self.used())
            del self._slots[self._keys[slot]]
        self._slots[key] = slot
        self._keys[slot] = key
        return slot, True

    def slots_for(
        self, keys: np.ndarray, evict: Callable[[np.ndarray], int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The slots of distinct ``keys``, and which were just given (one lookup per key)."""
        slots = np.empty(len(keys), np.int64)
        fresh = np.zeros(len(keys), bool)
        for i, key in enumerate(keys.tolist()):
            slots[i], fresh[i] = self.slot_for(int(key), evict)
        return slots, fresh


class ThreadTotals:
    """Running totals per thread, summed per process.

    ``fold`` returns a batch whose ``counters`` hold, for every event, its process's total
    after the batch: the sum of the latest total of each of its threads seen so far. Threads
    that ended stay in the sum (their switches happened) until their process ends; when full,
    the thread seen longest ago makes room.
    """

    def __init__(
        self,
        process: str,
        thread: str,
        counters: Sequence[str],
        capacity: int = DEFAULT_MAX_THREADS,
    ) -> None:
        self.process_field = process
        self.thread_field = thread
        self.counters = list(counters)
        self.slots = KeySlots(capacity)
        self.process = np.zeros(capacity, np.int64)
        self.totals = np.zeros((capacity, len(self.counters)), np.float64)
        self.seen = np.full(capacity, -np.inf)

    def __len__(self) -> int:
        return len(self.slots)

    def clear(self) -> None:
        self.slots.clear()

    def _oldest(self, used: np.ndarray) -> int:
        return int(used[np.argmin(self.seen[used])])

    def fold(self, arr: np.ndarray, time: float) -> np.ndarray:
        if not len(arr) or not self.counters:
            return arr
        threads, last = last_of_each(arr[self.thread_field])
        slots, _ = self.slots.slots_for(threads, self._oldest)
        picked = arr[last]
        self.process[slots] = picked[self.process_field]
        self.totals[slots] = np.column_stack([picked[c] for c in self.counters])
        self.seen[slots] = time
        processes, inverse = np.unique(arr[self.process_field], return_inverse=True)
        used = self.slots.used()
        member = used[np.isin(self.process[used], processes)]
        sums = np.zeros((len(processes), len(self.counters)), np.float64)
        np.add.at(sums, np.searchsorted(processes, self.process[member]), self.totals[member])
        out = arr.copy()
        for j, name in enumerate(self.counters):
            out[name] = sums[inverse.reshape(-1), j]
        return out

    def end(self, processes: np.ndarray) -> None:
        """Forget the threads of processes that ended (their ids may be reused)."""
        if len(processes) and len(self.slots):
            used = self.slots.used()
            self.slots.release(used[np.isin(self.process[used], processes)])


class LatestRows:
    """The newest row of each key (a process, or a thread), with when it was first and last
    seen and, once its end was reported, when it ended.

    It is a ``RowSource``: ``select`` sorts and filters it like a store's ring. ``exit`` names
    the field that marks an event as the key's last report (procstat's ``exited``); such an
    event marks the rows whose ``ends_by`` field (the key, or the process of a thread) has
    its value, and keeps their last values (a kernel may no longer have the memory to report).
    """

    def __init__(
        self,
        layout: StructLayout,
        dtype: np.dtype,
        key: str,
        *,
        exit: str | None = None,
        ends_by: str | None = None,
        capacity: int = DEFAULT_MAX_ROWS,
        exited_seconds: float = EXITED_SECONDS,
    ) -> None:
        self.layout = layout
        self.key = key
        self.exit = exit
        self.ends_by = ends_by or key
        self.exited_seconds = exited_seconds
        self.slots = KeySlots(capacity)
        self.rows = np.zeros(capacity, dtype)
        self.first = np.zeros(capacity, np.float64)
        self.last = np.zeros(capacity, np.float64)
        """When each row's key was last reported (the table's time column)."""
        self.ended = np.full(capacity, np.nan)
        self.generation = 0

    def __len__(self) -> int:
        return len(self.slots)

    def __contains__(self, key: int) -> bool:
        return key in self.slots

    def clear(self) -> None:
        self.slots.clear()
        self.generation += 1

    def exited(self, key: int) -> bool:
        slot = self.slots.get(key)
        return slot is not None and not np.isnan(self.ended[slot])

    def arrival(self) -> np.ndarray:
        """The listed rows' slots, in the order their keys were first seen."""
        used = self.slots.used()
        return used[np.argsort(self.first[used], kind="stable")]

    def freeze(self) -> FrozenRows:
        return FrozenRows(self.layout, self.rows.copy(), self.arrival(), self.generation)

    def add(self, arr: np.ndarray, time: float) -> None:
        """Take one batch that arrived at ``time``."""
        if len(arr):
            ends = arr[self.exit].astype(bool) if self.exit is not None else None
            alive = arr if ends is None else arr[~ends]
            if len(alive):
                self._update(alive, time)
            if ends is not None and ends.any():
                self._end(arr[ends], time)
        self._expire(time)
        self.generation += 1

    def _evict(self, used: np.ndarray) -> int:
        """An ended key's slot first, else the one reported longest ago."""
        ended = used[~np.isnan(self.ended[used])]
        pool = ended if len(ended) else used
        return int(pool[np.argmin(self.last[pool])])

    def _update(self, arr: np.ndarray, time: float) -> None:
        keys, last = last_of_each(arr[self.key])
        slots, given = self.slots.slots_for(keys, self._evict)
        # New keys, and ids reused after their owner ended: first seen now.
        fresh = given | ~np.isnan(self.ended[slots])
        self.first[slots[fresh]] = time
        self.ended[slots] = np.nan
        self.rows[slots] = arr[last]
        self.last[slots] = time

    def _end(self, arr: np.ndarray, time: float) -> None:
        unseen = [k for k in np.unique(arr[self.key]).tolist() if k not in self.slots]
        if unseen:  # ended before we saw it alive: its last report is all we have
            self._update(arr[np.isin(arr[self.key], unseen)], time)
        used = self.slots.used()
        hit = used[np.isin(self.rows[self.ends_by][used], arr[self.ends_by])]
        hit = hit[np.isnan(self.ended[hit])]
        self.ended[hit] = time
        if self.exit is not None:
            self.rows[self.exit][hit] = True
        self.last[hit] = time

    def _expire(self, now: float) -> None:
        if len(self.slots):
            used = self.slots.used()
            # NaN (not ended) compares False: only ended keys go.
            self.slots.release(used[self.ended[used] < now - self.exited_seconds])
