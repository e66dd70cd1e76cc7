"""The typed shape of an eunomia ``package.json`` (spec 1): checked once, where it comes in.

A package is untrusted input. Its JSON is decoded with msgspec, bounded (size, depth, node
count), then converted to these structs, so every later access finds the type it expects; an
error names the path to the bad field. Unknown keys are ignored (eunomia adds ``@tag`` comments
as keys), and the original dict is kept as it was, so a package repacks byte for byte.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from ..errors import PackageError
from .limits import OBJ_NAME, OPTION

MAX_PACKAGE_BYTES = 64 << 20
MAX_JSON_DEPTH = 32  # eunomia's deepest is 6 ($.meta.bpf_skel.data_sections[].variables[].cmdarg)
MAX_JSON_NODES = 1 << 20

PROG_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}\Z"  # a C function name
MAP_NAME = r"^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,127}\Z"  # libbpf's, e.g. ``sigsnoop.rodata``
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*\Z"  # a string handed to libbpf: no NUL, no newline

ObjName = Annotated[str, msgspec.Meta(pattern=OBJ_NAME)]
ProgName = Annotated[str, msgspec.Meta(pattern=PROG_NAME)]
MapName = Annotated[str, msgspec.Meta(pattern=MAP_NAME)]
Option = Annotated[str, msgspec.Meta(pattern=OPTION)]
Line = Annotated[str, msgspec.Meta(pattern=_NO_CONTROL, max_length=4096)]
U32 = Annotated[int, msgspec.Meta(ge=0, le=0xFFFFFFFF)]


class _Schema(msgspec.Struct, forbid_unknown_fields=False):
    pass


class Sample(_Schema):
    interval: Annotated[int, msgspec.Meta(ge=1, le=86_400_000)]
    type: Literal["log2_hist", "linear_hist", "default_kv"] = "default_kv"
    unit: str = "(unit)"
    clear_map: bool = False


class MapEntry(_Schema):
    name: MapName
    ident: str | None = None
    mmaped: bool = False
    sample: Sample | None = None
    description: str = ""


class ProgEntry(_Schema):
    name: ProgName
    attach: Line = ""
    link: bool = True


class CmdArg(_Schema):
    long: Option | None = None
    short: str | None = None
    help: str | None = None
    default: Any = None


class VariableEntry(_Schema):
    name: str
    type: str = ""
    description: str = ""
    cmdarg: CmdArg | None = None
    value: Any = None


class DataSection(_Schema):
    name: str
    variables: list[VariableEntry] | None = None


class Doc(_Schema):
    brief: str | None = None
    description: str | None = None
    details: str | None = None


class BpfSkel(_Schema):
    obj_name: ObjName
    data_sections: list[DataSection] | None = None
    maps: list[MapEntry] | None = None
    progs: list[ProgEntry] | None = None
    doc: Doc | None = None


class ExportMember(_Schema):
    name: str
    type: str = ""


class ExportType(_Schema):
    name: str
    type_id: U32
    members: list[ExportMember]
    size: U32 = 0


class Meta(_Schema):
    bpf_skel: BpfSkel
    export_types: list[ExportType] | None = None
    perf_buffer_pages: Annotated[int, msgspec.Meta(ge=1, le=1 << 20)] = 64
    eunomia_version: str = ""


class Document(_Schema):
    bpf_object: str
    bpf_object_size: int  # bounded where it is used, with a message that says the bound
    meta: Meta


def decode_json(data: bytes, source: str) -> Any:
    """``data`` as JSON, refused in one line when it is not JSON or is too big or too deep."""
    if len(data) > MAX_PACKAGE_BYTES:
        raise PackageError(
            f"{source}: not a package: {len(data)} bytes (at most {MAX_PACKAGE_BYTES >> 20} MiB)"
        )
    try:
        doc = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise PackageError(f"{source}: not a package: invalid JSON ({exc})") from None
    except msgspec.ValidationError as exc:  # a number out of range
        raise PackageError(f"{source}: not a package: invalid JSON ({exc})") from None
    except RecursionError:
        raise PackageError(
            f"{source}: not a package: JSON nested more than {MAX_JSON_DEPTH} deep"
        ) from None
    check_bounds(doc, source)
    return doc


def check_bounds(doc: Any, source: str) -> None:
    """Refuse JSON nested deeper than ``MAX_JSON_DEPTH`` or with more than ``MAX_JSON_NODES``
    values: whoever walks it later (repacking, recordings, printing) recurses."""
    stack: list[tuple[Any, int]] = [(doc, 0)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_JSON_NODES:
            raise PackageError(f"{source}: not a package: more than {MAX_JSON_NODES} JSON values")
        if depth > MAX_JSON_DEPTH:
            raise PackageError(
                f"{source}: not a package: JSON nested more than {MAX_JSON_DEPTH} deep"
            )
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def check_document(doc: dict[str, Any], source: str) -> Document:
    """The package's fields as typed structs, or a ``PackageError`` naming the bad field."""
    try:
        return msgspec.convert(doc, Document)
    except msgspec.ValidationError as exc:
        raise PackageError(f"{source}: {_explain(str(exc))}") from None


def check_meta(meta: dict[str, Any], source: str) -> Meta:
    try:
        return msgspec.convert(meta, Meta)
    except msgspec.ValidationError as exc:
        raise PackageError(f"{source}: {_explain(str(exc)).replace('`$', '`$.meta', 1)}") from None


def _explain(message: str) -> str:
    """msgspec's message, one line; a pattern mismatch says what a name may contain."""
    message = " ".join(message.split())
    for pattern, what in (
        (OBJ_NAME, "a name of letters, digits, '_', '.', '-' (at most 64)"),
        (PROG_NAME, "a C identifier"),
        (MAP_NAME, "a map name of letters, digits, '_', '.', '-'"),
        (OPTION, "an option name of letters, digits, '_', '.', '-'"),
        (_NO_CONTROL, "text without control characters"),
    ):
        message = message.replace(f"matching regex {pattern!r}", f"that is {what}")
    return message
