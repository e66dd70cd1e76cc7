"""Makes the damaged recordings next to this file (issue 11, recordings): run it from the
repository's root with ``.venv/bin/python tests/data/untrusted/recording/make.py``.

Each one is a small sigsnoop recording made with the ``Recorder`` and then damaged the way a
clock, a disk or an attacker would; ``tests/test_untrusted_recording.py`` replays every one
with ``lmp replay`` and says what it must print.
"""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

import msgpack

from lmp_tui.runtime.distribution.hub import find_builtin
from lmp_tui.runtime.runs.scripted import event_batch
from lmp_tui.runtime.stream.decode import Decoder
from lmp_tui.runtime.stream.recording import Recorder, RecordingHeader

HERE = Path(__file__).resolve().parent
START = 1_700_000_000.0


def rows(i: int, n: int = 2) -> list[dict[str, object]]:
    return [{"pid": 100 + i, "tpid": 200 + j, "sig": 10, "comm": f"p{i}"} for j in range(n)]


def recording(times: list[float], start: float = START) -> bytes:
    """A sigsnoop recording starting at ``start`` with a frame of two events at each time."""
    spec = find_builtin("sigsnoop").package.export()
    assert spec.layout is not None
    decoder = Decoder(spec.layout)
    header = RecordingHeader("sigsnoop", spec, host="untrusted", kernel="6.0", start=start)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.lmprec"
        recorder = Recorder(path, header)
        for i, t in enumerate(times):
            recorder.write(event_batch(decoder, rows(i), t))
        recorder.close()
        return path.read_bytes()


def split(data: bytes) -> tuple[dict[str, object], list[dict[str, object]]]:
    """The header and frames of a recording, as msgpack values."""
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(data)
    header, *frames = list(unpacker)
    return header, frames


def join(header: object, frames: list[object]) -> bytes:
    return b"".join(msgpack.packb(x, use_bin_type=True) for x in [header, *frames])


def build() -> dict[str, bytes]:
    """Every file's name and bytes."""
    files: dict[str, bytes] = {}
    # Item 7: the clock stepped back 30 years between two frames (and before the start).
    files["clock_stepped.lmprec"] = recording([START + 0.5, START + 1.5, START - 1e9, START + 2.5])
    # Item 7: a start time that is no time at all.
    files["nan_start.lmprec"] = recording([START + 0.5], start=float("nan"))
    files["inf_start.lmprec"] = recording([START + 0.5], start=float("inf"))
    # Frames whose times are not times: taken as the frame's before.
    files["nan_frame_time.lmprec"] = recording(
        [START + 0.5, float("nan"), float("inf"), float("-inf"), 1e300, START + 1.5]
    )
    header, frames = split(recording([START + 0.5, START + 1.5]))
    # A header whose fields are of the wrong types.
    files["type_confused_header.lmprec"] = join(
        {**header, "program": 123, "params": ["not", "a", "map"]}, frames
    )
    files["type_confused_start.lmprec"] = join({**header, "start": "yesterday"}, frames)
    # A frame whose count is text (the first frame is good).
    files["type_confused_frame.lmprec"] = join(header, [frames[0], {**frames[1], "n": "2"}])
    good = join(header, frames[:1])
    # A frame that declares 4 GB of records (a bin 32 header), then ends.
    files["huge_declared_bin.lmprec"] = (
        good + b"\x84\xa1t" + msgpack.packb(START + 1.5) + b"\xa1n\x02\xa1d\x00\xa1r\xc6"
        b"\xff\xff\xff\xf0" + bytes(64)
    )
    # A header whose layout declares an array of 4 billion fields.
    head = msgpack.packb({k: v for k, v in header.items() if k != "layout"}, use_bin_type=True)
    count = struct.unpack(">B", head[:1])[0] - 0x80
    files["huge_declared_array.lmprec"] = (
        bytes([0x80 + count + 1]) + head[1:] + b"\xa6layout\xdd\xff\xff\xff\xff" + bytes(64)
    )
    # Cut in the middle of its last frame, as by a crash while writing.
    whole = recording([START + 0.5, START + 1.5, START + 2.5])
    files["truncated.lmprec"] = whole[:-20]
    return files


def main() -> None:
    for name, data in build().items():
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
