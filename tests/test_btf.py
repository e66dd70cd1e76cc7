"""BTF parsing and C spelling, on hand-made BTF."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lmp_tui.runtime.errors import LayoutError
from lmp_tui.runtime.format.btf import Btf, BtfBuilder, Kind


def test_round_trip_and_c_decl():
    b = BtfBuilder()
    u32 = b.integer("unsigned int", 4)
    char = b.integer("char", 1, signed=True, char=True)
    pid_t = b.typedef("pid_t", b.integer("int", 4, signed=True))
    comm = b.array(char, 16)
    ev = b.struct("event", 24, [("pid", pid_t, 0), ("flags", u32, 4), ("comm", comm, 8)])
    ptr = b.ptr(ev)
    vol = b.modifier(Kind.VOLATILE, b.modifier(Kind.CONST, pid_t))
    btf = Btf.parse(b.build())
    assert btf[ev].kind == Kind.STRUCT and btf[ev].size == 24
    assert [m.name for m in btf[ev].members] == ["pid", "flags", "comm"]
    assert btf.c_decl(comm) == "char[16]"
    assert btf.c_decl(ptr) == "struct event *"
    assert btf.c_decl(vol) == "pid_t"
    assert btf.size_of(comm) == 16
    assert btf.find("event", Kind.STRUCT).id == ev


def test_bad_magic_and_truncation():
    with pytest.raises(LayoutError, match="magic"):
        Btf.parse(b"\0" * 32)
    raw = BtfBuilder().build()
    with pytest.raises(LayoutError):
        Btf.parse(raw[:10])


@given(st.binary(max_size=512))
def test_random_bytes_never_crash(raw):
    with contextlib.suppress(LayoutError):
        Btf.parse(raw)


@given(st.binary(min_size=1, max_size=64), st.integers(0, 200))
def test_corrupted_btf_raises_layout_error_only(noise, where):
    b = BtfBuilder()
    b.struct("s", 4, [("x", b.integer("int", 4, signed=True), 0)])
    raw = bytearray(b.build())
    where = min(where, len(raw) - 1)
    raw[where : where + len(noise)] = noise
    try:
        btf = Btf.parse(bytes(raw))
        for t in btf.types:
            btf.c_name(t.id)
    except LayoutError:
        pass


def _next_id(b: BtfBuilder) -> int:
    return len(b._types) + 1


def test_types_that_contain_themselves_are_refused():
    for make in (
        lambda b: b.array(_next_id(b), 4),  # an array of itself
        lambda b: b.struct("s", 8, [("s", _next_id(b), 0)]),  # a struct of itself
        lambda b: b.ptr(_next_id(b)),  # a pointer to itself
        lambda b: b.typedef("t", _next_id(b) + 1) and b.modifier(Kind.CONST, _next_id(b) - 1),
    ):
        b = BtfBuilder()
        b.integer("int", 4, signed=True)
        make(b)
        with pytest.raises(LayoutError, match="itself"):
            Btf.parse(b.build())


def test_a_linked_list_is_a_cycle_through_a_pointer():
    b = BtfBuilder()
    node = _next_id(b) + 1
    ptr = b.ptr(node)
    assert b.struct("node", 8, [("next", ptr, 0)]) == node
    btf = Btf.parse(b.build())
    assert btf.c_decl(ptr) == "struct node *" and btf.size_of(node) == 8


def test_sizes_and_depth_are_bounded():
    b = BtfBuilder()
    b.array(b.integer("long", 8, signed=True), 0xFFFFFFFF)
    with pytest.raises(LayoutError, match="overflows"):
        Btf.parse(b.build())
    b = BtfBuilder()
    t = b.integer("int", 4, signed=True)
    for i in range(100):
        t = b.typedef(f"t{i}", t)
    with pytest.raises(LayoutError, match="nested"):
        Btf.parse(b.build())
    b = BtfBuilder()
    b.struct("s", 4, [("x", 99, 0)])
    with pytest.raises(LayoutError, match="does not exist"):
        Btf.parse(b.build())
