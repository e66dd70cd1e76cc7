"""``python -m lmp_tui.cli``: the same as the ``lmp`` console script."""

import sys

from ..entry import lmp

sys.exit(lmp())
