"""Event counts per label values with a hard series cap: the ``limit`` values with the highest
event rate each get a series, every other event adds up under ``other``.

What a flood of distinct values (a comm per process of a fork bomb) may cost a Prometheus
server is ``limit + 1`` series, whatever the kernel sends. Which values deserve a series is
decided by rate, not by arrival: a value that turns up after the flood and stays busy takes the
place of one that went quiet.

The fold is numpy's, never a Python call per event: events arrive as 64-bit hashes of their
label fields' bytes (``label_hashes``), find their value's slot in a direct-mapped table
(one gather for a whole batch) and are counted with ``np.bincount``. The few the table does
not hold (new values, or ones whose place another took) are reduced to their distinct hashes
(``groups``) and looked up in a sorted table with ``np.searchsorted``. Python runs once per
value not seen before, and once a second to rank.

Counter semantics, as ``rate()`` reads them:

- a series starts at 0 when its value is admitted (what it did before went to ``other``), so
  no exposed counter, ``other`` included, ever goes down;
- a series pushed out by a busier value disappears (Prometheus marks it stale); if it comes
  back it starts again from 0, which ``rate()`` reads as a counter reset.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..lazy import np

OTHER = "other"
RANK_SECONDS = 1.0
"""How often values are ranked by rate."""
HALF_LIFE_SECONDS = 60.0
"""The rate a value is ranked by is an exponentially weighted mean with this half-life: a burst
counts, but a value must stay busy for a minute or so to displace a steady one."""
HYSTERESIS = 2.0
"""A waiting value displaces a series only at more than twice its rate: no flapping between
two values of about the same rate."""
IDLE_RATE = 1e-3
"""Events per second below which a waiting value is forgotten, making room for new ones."""

_PRIME = np.uint64(0x100000001B3)  # FNV-1a's 64-bit prime
_OFFSET = np.uint64(0xCBF29CE484222325)


_ONES = np.uint64(0x0101010101010101)
_HIGHS = np.uint64(0x8080808080808080)


class LabelHasher:
    """One 64-bit hash per record of the bytes of some of its fields (name, is a C string),
    mixed 8 bytes at a time. A C string's bytes after its first NUL are left out: they are
    whatever the buffer held before, and do not change the label. (Two values with the same
    hash would share a series; at 64 bits and a few thousand values that is about one
    chance in 10^12.)"""

    def __init__(self, fields: Sequence[tuple[str, bool]]) -> None:
        self.fields = list(fields)

    def __call__(self, rows: Any) -> Any:
        n = len(rows)
        h = np.full(n, _OFFSET, np.uint64)
        for name, is_string in self.fields:
            raw = (
                np.ascontiguousarray(rows[name])
                .view(np.uint8)
                .reshape(n, rows.dtype[name].itemsize)
            )
            if raw.shape[1] % 8:
                raw = np.concatenate((raw, np.zeros((n, 8 - raw.shape[1] % 8), np.uint8)), axis=1)
            alive = np.ones(n, bool) if is_string else None
            for word in raw.view(np.uint64).T:
                if alive is not None:
                    word = _before_nul(word, alive)
                h ^= word
                h *= _PRIME
                h ^= h >> np.uint64(29)
        return h


def _before_nul(word: Any, alive: Any) -> Any:
    """The bytes of each little-endian ``word`` before its first NUL (all of them if it has
    none), where ``alive`` (no NUL in the words before); ``alive`` is updated."""
    zeros = (word - _ONES) & ~word & _HIGHS  # the high bit of each NUL byte (and of none before it)
    lowest = zeros & (~zeros + np.uint64(1))
    kept = np.where(zeros == 0, word, word & ((lowest >> np.uint64(7)) - np.uint64(1)))
    kept[~alive] = 0
    alive &= zeros == 0
    return kept


def label_hashes(rows: Any, fields: Sequence[tuple[str, bool]]) -> Any:
    """``LabelHasher`` for one batch (a plan made and used once)."""
    return LabelHasher(fields)(rows)


def groups(hashes: Any) -> tuple[Any, Any, Any, Any]:
    """``np.unique(hashes, return_index, return_inverse, return_counts)`` with one sort: the
    distinct values, an index of each, each element's group, each group's size. The sort is
    not stable (any index of a value will do: its events share their labels), which makes
    it twice as fast."""
    order = np.argsort(hashes)
    ordered = hashes[order]
    starts = np.ones(len(ordered), bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    inverse = np.empty(len(ordered), np.intp)
    inverse[order] = np.cumsum(starts) - 1
    at = np.flatnonzero(starts)
    sizes = np.diff(np.append(at, len(ordered)))
    return ordered[at], order[at], inverse, sizes


class SeriesCounts:
    """Per label values, ``width`` numbers (an event count; a sum; a histogram's buckets and
    sum; or, ``latest``, a gauge's last value), at most ``limit`` of them exposed.

    Up to ``2 * limit`` values are tracked: the admitted ones (a series each) and as many
    waiting ones (their events go to ``other`` while their rate is measured). Values are
    ranked by their event rate whatever the numbers hold. ``add`` folds a batch; ``series``
    is what a scrape exposes."""

    def __init__(
        self, limit: int, names: Sequence[str], width: int = 1, latest: bool = False
    ) -> None:
        self.limit = max(0, limit)
        self.names = tuple(names)
        self.latest = latest
        capacity = 2 * self.limit
        self._keys = np.zeros(0, np.uint64)  # sorted hashes of tracked values
        self._key_slots = np.zeros(0, np.int64)  # the slot each of _keys counts in
        # _keys again, direct-mapped by their low bits: most events find their slot with one
        # gather, without a sort or a binary search (a key whose place another took is
        # looked up in _keys)
        self._mask = np.uint64((1 << max(10, (8 * capacity).bit_length())) - 1)
        self._cached_keys = np.zeros(int(self._mask) + 1, np.uint64)
        self._cached_slots = np.full(int(self._mask) + 1, -1, np.int64)
        self.counts = np.zeros((capacity, width), np.float64)  # since admission
        self.rates = np.zeros(capacity, np.float64)  # events/s, weighted
        self._pending = np.zeros(capacity, np.float64)  # events since the last ranking
        self.admitted = np.zeros(capacity, bool)
        self.tracked = np.zeros(capacity, bool)  # the slots with a value, admitted or waiting
        self.labels: list[dict[str, str] | None] = [None] * capacity
        self._texts: list[tuple[str, ...] | None] = [None] * capacity
        self._by_text: dict[tuple[str, ...], int] = {}
        self._free = list(range(capacity - 1, -1, -1))
        self.other = np.zeros(width, np.float64)
        self._ranked_at: float | None = None

    def add(
        self,
        hashes: Any,
        label_texts: Callable[[Any], list[tuple[str, ...]]],
        time: float,
        values: Any = None,
    ) -> None:
        """Fold a batch: ``hashes`` per event, ``label_texts(indices)`` the label values of the
        events at those indices (asked only for values not seen before), ``values`` an
        ``(events, width)`` array of what each event adds (or, ``latest``, sets; None: 1)."""
        if not len(hashes):
            return
        slots = self._cached(hashes)  # each event's, -1 where the cache does not know it
        missed = np.flatnonzero(slots < 0)
        if len(missed):
            slots[missed] = self._slots_of(hashes[missed], missed, label_texts)
        tracked = slots >= 0  # an event of a value with no room to be tracked: other's
        capacity = len(self.counts)
        self._pending += np.bincount(slots[tracked], minlength=capacity)
        counted = tracked.copy()  # the events of a value with a series
        counted[tracked] = self.admitted[slots[tracked]]
        if self.latest:  # a waiting value's last value too: it shows when it gets a series
            last = np.full(capacity, -1, np.int64)
            np.maximum.at(last, slots[tracked], np.flatnonzero(tracked))
            seen = last >= 0
            if values is None:  # the value is its number of events in this batch
                self.counts[seen, 0] = np.bincount(slots[tracked], minlength=capacity)[seen]
            else:
                self.counts[seen] = values[last[seen]]
        elif values is None:
            self.counts[:, 0] += np.bincount(slots[counted], minlength=capacity)
            self.other += len(slots) - int(np.count_nonzero(counted))
        else:
            np.add.at(self.counts, slots[counted], values[counted])
            self.other += values[~counted].sum(axis=0)
        if self._ranked_at is None or time < self._ranked_at:  # a clock stepped back
            self._ranked_at = time
        elif time - self._ranked_at >= RANK_SECONDS:
            self._rank(time)

    def series(self) -> tuple[list[dict[str, str]], Any]:
        """The exposed series: each admitted value's labels and a ``(series, width)`` array
        of its numbers, then ``other``'s (not for a gauge: the last values of many label
        values add up to nothing meaningful)."""
        slots = np.flatnonzero(self.admitted)
        labels = [self.labels[slot] for slot in slots.tolist()]
        numbers = self.counts[slots]
        if not self.latest and self.other.any():
            labels.append({name: OTHER for name in self.names})
            numbers = np.vstack((numbers, self.other))
        return labels, numbers  # type: ignore[return-value]  # admitted slots have labels

    # -- the table ---------------------------------------------------------------------------------

    def _cached(self, hashes: Any) -> Any:
        at = (hashes & self._mask).astype(np.intp)
        slots = self._cached_slots[at]
        slots[self._cached_keys[at] != hashes] = -1
        return slots

    def _slots_of(
        self, hashes: Any, at: Any, label_texts: Callable[[Any], list[tuple[str, ...]]]
    ) -> Any:
        """The slots of events ``at`` (their ``hashes``) the cache did not know: looked up in
        the table, or tracked now if new, the busiest new values first, as many as there is
        room for (-1 for the others)."""
        distinct, first, inverse, sizes = groups(hashes)
        slots = self._lookup(distinct)
        missing = np.flatnonzero(slots < 0)
        if len(missing) and self._free:
            order = missing[np.argsort(-sizes[missing], kind="stable")][: len(self._free)]
            texts = label_texts(at[first[order]])
            slots[order] = [self._track(text) for text in texts]
            self._insert(distinct[order], slots[order])
        return slots[inverse]

    def _lookup(self, distinct: Any) -> Any:
        slots = np.full(len(distinct), -1, np.int64)
        if len(self._keys):
            at = np.minimum(np.searchsorted(self._keys, distinct), len(self._keys) - 1)
            hit = self._keys[at] == distinct
            slots[hit] = self._key_slots[at[hit]]
        return slots

    def _track(self, text: tuple[str, ...]) -> int:
        """The slot of a value seen for the first time; two hashes with the same label text
        (a number and the name it stands for) share it."""
        slot = self._by_text.get(text)
        if slot is not None:
            return slot
        slot = self._free.pop()
        self._by_text[text] = slot
        self._texts[slot] = text
        self.labels[slot] = dict(zip(self.names, text, strict=True))
        self.tracked[slot] = True
        self.counts[slot] = 0.0
        self.rates[slot] = self._pending[slot] = 0.0
        self.admitted[slot] = int(self.admitted.sum()) < self.limit  # room: admitted at once
        return slot

    def _insert(self, keys: Any, slots: Any) -> None:
        merged = np.concatenate((self._keys, keys))
        order = np.argsort(merged, kind="stable")
        self._keys = merged[order]
        self._key_slots = np.concatenate((self._key_slots, slots))[order]
        self._cache()

    def _cache(self) -> None:
        """Map ``_keys`` again (two keys with the same low bits: the last one keeps the
        place)."""
        self._cached_slots[:] = -1
        at = (self._keys & self._mask).astype(np.intp)
        self._cached_keys[at] = self._keys
        self._cached_slots[at] = self._key_slots

    def _rank(self, now: float) -> None:
        """Update the rates; swap a waiting value in for the slowest series while it is more
        than ``HYSTERESIS`` times busier; forget waiting values that went idle."""
        assert self._ranked_at is not None
        elapsed = max(now - self._ranked_at, 1e-9)
        self._ranked_at = now
        keep = 0.5 ** (elapsed / HALF_LIFE_SECONDS)
        self.rates = self.rates * keep + (self._pending / elapsed) * (1 - keep)
        self._pending[:] = 0
        live = self.tracked
        waiting = np.flatnonzero(live & ~self.admitted)
        if len(waiting):
            series = np.flatnonzero(self.admitted)
            waiting = waiting[np.argsort(-self.rates[waiting], kind="stable")]
            slowest = series[np.argsort(self.rates[series], kind="stable")]
            for new, old in zip(waiting.tolist(), slowest.tolist(), strict=False):
                if self.rates[new] <= HYSTERESIS * self.rates[old]:
                    break
                self.admitted[old], self.admitted[new] = False, True
                if not self.latest:  # a counter starts at 0; a gauge keeps its last value
                    self.counts[old] = self.counts[new] = 0.0
        idle = np.flatnonzero(live & ~self.admitted & (self.rates < IDLE_RATE))
        if len(idle):
            self._forget(idle)

    def _forget(self, slots: Any) -> None:
        gone = np.isin(self._key_slots, slots)
        self._keys, self._key_slots = self._keys[~gone], self._key_slots[~gone]
        self._cache()
        for slot in slots.tolist():
            text = self._texts[slot]
            assert text is not None
            del self._by_text[text]
            self.labels[slot] = self._texts[slot] = None
            self.tracked[slot] = False
            self._free.append(slot)
