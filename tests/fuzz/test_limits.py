"""The fuzz bounds themselves: a refusal is an answer, anything else fails the case."""

from __future__ import annotations

import time

import pytest
from limits import CaseTimeout, bounded, deadline

from lmp_tui.runtime.errors import PackageError


def refuse() -> None:
    raise PackageError("x.json: not a package")


def crash() -> None:
    raise KeyError("meta")


def test_a_project_error_is_returned_not_raised():
    assert isinstance(bounded(refuse), PackageError)


def test_any_other_exception_fails_the_case():
    with pytest.raises(KeyError):
        bounded(crash)


def test_a_hang_is_cut_at_the_deadline():
    started = time.monotonic()
    with pytest.raises(CaseTimeout), deadline(0.2):
        while True:
            pass
    assert time.monotonic() - started < 1
