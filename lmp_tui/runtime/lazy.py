"""Modules imported on first use, for the heavy ones only some paths need.

numpy costs 60-90 ms of every ``lmp`` start, though ``lmp run`` needs it only once the first
batch is decoded: the program is attached that much sooner, and commands that decode nothing
never pay for it. This is the recipe of the ``importlib.util.LazyLoader`` documentation.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import TYPE_CHECKING

__all__ = ["lazy_module", "np"]


def lazy_module(name: str) -> ModuleType:
    """``name``, to be imported when one of its attributes is first used."""
    if (module := sys.modules.get(name)) is not None:
        return module
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


if TYPE_CHECKING:
    import numpy as np
else:
    np = lazy_module("numpy")
"""numpy, loaded when first used: ``from ..lazy import np`` where ``import numpy as np`` would go."""
