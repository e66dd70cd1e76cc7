"""Bounded stores for decoded records: what views read, whatever draws them.

Data flows one way: source -> decoder -> store -> views. A store takes whole numpy arrays (one
per batch, never one call per event): an ``EventStore`` keeps the newest ``capacity`` rows in a
ring and fixed-length time series (``series``), a ``SnapshotStore`` the latest content of a
sampled map; ``StoreSink`` fills either from a run's pipeline. What a field is for the views (a
key, a label, a signal, a series: only gauges, durations and counters' rates, by the meaning
``format.roles`` gives it) is decided in ``fields``. Nothing here knows about a UI.
"""

from .events import EventStore
from .fields import is_signal_field, parse_signal, signal_name
from .frozen import FrozenRows
from .latest import LatestRows, ThreadTotals
from .series import KeyedSeries
from .sink import StoreConfig, StoreSink, make_store
from .snapshots import HistogramEntry, SnapshotStore

__all__ = [
    "EventStore",
    "FrozenRows",
    "HistogramEntry",
    "KeyedSeries",
    "LatestRows",
    "SnapshotStore",
    "StoreConfig",
    "StoreSink",
    "ThreadTotals",
    "is_signal_field",
    "make_store",
    "parse_signal",
    "signal_name",
]
