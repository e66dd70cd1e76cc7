"""What every fuzz case must respect: only the project's exceptions, 2 s, 256 MB."""

from __future__ import annotations

import resource
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from lmp_tui.runtime.errors import LmpError

T = TypeVar("T")
CASE_SECONDS = 2.0
RSS_LIMIT = 256 << 20


class CaseTimeout(Exception):
    """A case ran past CASE_SECONDS: a hang or a quadratic path."""


def rss_peak() -> int:
    """This process's peak resident set, in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@contextmanager
def deadline(seconds: float = CASE_SECONDS) -> Iterator[None]:
    def expired(signum: int, frame: object) -> None:
        raise CaseTimeout(f"case still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def bounded(fn: Callable[..., T], *args: object, **kwargs: object) -> T | LmpError:
    """Run one case: its result, or the ``LmpError`` it raised (a refusal is an answer).

    Anything else propagates and fails the test: another exception type, ``CaseTimeout``,
    or ``MemoryError`` (the fuzz process's data limit), and a peak RSS above 256 MB.
    """
    try:
        with deadline():
            result = fn(*args, **kwargs)
    except LmpError as exc:
        assert str(exc) and "\n" not in str(exc).strip(), f"not one line: {exc!r}"
        return exc
    finally:
        assert rss_peak() <= RSS_LIMIT, f"peak RSS {rss_peak() >> 20} MB"
    return result
