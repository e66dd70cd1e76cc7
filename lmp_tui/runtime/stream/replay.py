"""A recording played back as an event source: paced by its recorded times, paused, sped up,
sought. Frames are read from the file as they are played, so a replay starts at once and its
memory stays bounded whatever the file's size; an index of (time, offset, count) per frame,
built by skipping over the records, is what seeking and a view's rebuild stand on.
"""

from __future__ import annotations

import asyncio
import bisect
import math
from array import array
from collections.abc import AsyncIterator, Iterator
from itertools import islice

from .batch import Batch, EventSource
from .recording import Frame, FrameInfo, RecordingReader


class FrameIndex:
    """Every frame's (clamped, so never decreasing) time, offset, count and drops, in four
    flat arrays: 32 bytes a frame, whatever a recording of tiny frames makes it hold."""

    def __init__(self, frames: Iterator[FrameInfo], end: int = 0) -> None:
        self.times = array("d")
        self.offsets = array("q")
        self.counts = array("q")
        self.drops = array("q")
        for f in frames:
            self.times.append(f.time)
            self.offsets.append(f.offset)
            self.counts.append(f.count)
            self.drops.append(f.drops)
        self.end = end
        """Where the last frame ends."""

    def __len__(self) -> int:
        return len(self.times)

    def __getitem__(self, i: int) -> FrameInfo:
        return FrameInfo(self.times[i], self.offsets[i], self.counts[i], self.drops[i])


class ReplaySource(EventSource):
    """``speed`` scales time (2.0 = twice as fast; ``None`` as fast as possible); ``pause``
    holds the stream; ``seek(t)`` jumps to the first frame at or after ``t`` seconds from the
    recording's start."""

    def __init__(self, reader: RecordingReader, speed: float | None = 1.0) -> None:
        self.reader = reader
        self.speed = speed
        self.paused = False
        self.position = 0.0
        """Seconds from the start to the last frame delivered (or sought to)."""
        self.total = 0
        self.finished = False
        """Every frame up to the end has been delivered (a seek back clears it)."""
        self._index: FrameIndex | None = None
        self._next = 0  # the number of the next frame to deliver
        self._offset = reader.data_offset  # and where it starts
        self._before = reader.header.start  # and the time of the one before it
        self._seeks = 0
        self._resume = asyncio.Event()
        self._resume.set()

    # -- the index -------------------------------------------------------------------------------

    def index(self) -> FrameIndex:
        """Every frame's time, place and counts (scanned once, on first need)."""
        if self._index is None:
            self._index = FrameIndex(self.reader.scan())
            self._index.end = self.reader.end
        return self._index

    @property
    def duration(self) -> float:
        times = self.index().times
        return times[-1] - self.reader.header.start if times else 0.0

    # -- controls ----------------------------------------------------------------------------------

    def pause(self, paused: bool = True) -> None:
        self.paused = paused
        if paused:
            self._resume.clear()
        else:
            self._resume.set()

    def seek(self, seconds: float) -> None:
        index = self.index()
        if not math.isfinite(seconds):
            seconds = 0.0
        start = self.reader.header.start
        self._next = bisect.bisect_left(index.times, start + seconds)
        self._offset = index.offsets[self._next] if self._next < len(index) else index.end
        self._before = index.times[self._next - 1] if self._next > 0 else start
        self.finished = self._next >= len(index)
        self.position = max(0.0, seconds)
        self._seeks += 1

    def history(
        self, since: float, events: int = 0, frames: int = 0
    ) -> tuple[list[Batch], int, int]:
        """What a view rebuilding its store at the current position needs: the batches before
        it that hold the last ``events`` events (or the last ``frames`` frames) and every one
        recorded at or after ``since``, read from the file now; and the events and drops of
        the frames before those, which are only counted."""
        index = self.index()
        times, counts = index.times, index.counts
        end = min(self._next, len(index))
        first = end
        while first > 0 and (events > 0 or frames > 0 or times[first - 1] >= since):
            first -= 1
            events -= counts[first]
            frames -= 1
        batches: list[Batch] = []
        if first < end:
            before = times[first - 1] if first > 0 else self.reader.header.start
            taken = islice(self.reader.frames(index.offsets[first], before), end - first)
            batches = [f.batch for f in taken]
            self._seeks += 1  # the file was read elsewhere: playing resumes from _offset
        return batches, sum(counts[:first]), sum(index.drops[:first])

    def close(self) -> None:
        super().close()
        self._resume.set()  # a paused replay wakes up to see it is closed

    # -- playing ---------------------------------------------------------------------------------

    async def batches(self) -> AsyncIterator[Batch]:
        start = self.reader.header.start
        frames: Iterator[Frame] | None = None
        pending: Frame | None = None
        prev_time: float | None = None
        seeks = -1
        while not self.closed:
            if seeks != self._seeks:  # (re)start reading where the next frame is
                frames, pending, prev_time, seeks = None, None, None, self._seeks
            if self.paused:
                await self._resume.wait()
                prev_time = None
                continue
            if pending is None:
                frames = frames or self.reader.frames(self._offset, self._before)
                pending = next(frames, None)
                if pending is None:
                    self.finished = True
                    return
            time = pending.batch.time
            if self.speed and prev_time is not None and time > prev_time:
                await asyncio.sleep(min((time - prev_time) / self.speed, 5.0))
            else:
                await asyncio.sleep(0)  # as fast as possible, but let the loop breathe
            if self.paused or seeks != self._seeks or self.closed:
                continue
            frame, pending = pending, None
            self._next += 1
            self._offset = frame.end
            self._before = prev_time = time
            self.position = time - start
            self.total += frame.batch.count
            yield frame.batch
