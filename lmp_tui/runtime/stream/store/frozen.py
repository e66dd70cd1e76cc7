"""``FrozenRows``: rows held still for a paused view."""

from __future__ import annotations

from dataclasses import dataclass

from ...format.layout import StructLayout
from ...lazy import np


@dataclass(slots=True)
class FrozenRows:
    """A copy of a store's rows at one moment (what a paused view shows).

    The copy keeps the store's slots, so the indices of a view shown at that moment stay
    valid for it: pausing needs no query.
    """

    layout: StructLayout
    rows: np.ndarray
    order: np.ndarray
    """Slots of the stored rows, oldest first."""
    generation: int = 0

    def arrival(self) -> np.ndarray:
        return self.order
