"""Doc comments (``///``, spec 1.4) on a BPF program's globals, maps, programs and licence,
and on the members of the structs it exports (what they mean: ``@role``, ``@unit``...).

Read the way eunomia's ecc reads them: clang attaches each comment to the declaration it
documents, and we ask clang (libclang, through its official Python bindings) for the top-level
declarations of the source file and their comments. No scanning of the text: a brace in a string
or a comment cannot mislead it. A map's comment documents its anonymous ``struct { ... }``, which
clang hands over as the declaration before the variable of that type.

A struct member is documented by a ``///`` comment on the lines above it, or by a ``///<``
comment after it on its line (Doxygen's trailing form: a plain ``///`` there documents the
*next* member, so clang reads it, and we refuse it when it carries tags)::

    /// @role gauge @unit pages
    long long rssanon;
    unsigned long long skaddr;  ///< the socket @role id @unit hex
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import BuildError

DOXYGEN_BLOCKS = {"brief", "details", "version", "author", "note", "return", "param"}
MEMBER_TAGS = ("role", "unit", "flags", "format")
"""What a member's comment may say, each becoming the key of its ``export_types`` member."""


@dataclass(frozen=True, slots=True)
class DocComments:
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    maps: dict[str, dict[str, Any]] = field(default_factory=dict)
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)
    license: dict[str, Any] = field(default_factory=dict)
    members: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    """Struct name -> member name -> its tags (``MEMBER_TAGS``), for members that have some."""


@cache
def _cindex(clang: str) -> Any:
    """libclang's bindings, on the libclang of the very clang that compiles the program."""
    try:
        from clang import cindex
    except ImportError:
        raise BuildError(
            "the Python bindings of libclang are missing: pip install 'clang>=14,<15' "
            "(bash setup.sh install does)"
        ) from None
    resource = subprocess.run(
        [clang, "-print-resource-dir"], capture_output=True, text=True
    ).stdout.strip()
    libdir = Path(resource).parent.parent if resource else None  # <llvm>/lib/clang/<version>
    library = (
        next((p for p in (libdir / "libclang.so.1", libdir / "libclang.so") if p.exists()), None)
        if libdir
        else None
    )
    if library is None:
        raise BuildError(f"libclang of {clang} is not installed: apt-get install libclang1-14")
    if not cindex.Config.loaded:
        cindex.Config.set_library_file(str(library))
    return cindex


def doc_comments(
    source: Path, args: list[str], clang: str = "clang", headers: Sequence[Path] = ()
) -> DocComments:
    """The doc comments of ``source``'s top-level declarations, parsed with the compile
    flags ``args`` (include paths, target, defines), and the member tags of the structs
    declared in ``source`` or ``headers`` (the export header)."""
    cindex = _cindex(clang)
    skip = cindex.TranslationUnit.PARSE_SKIP_FUNCTION_BODIES
    try:
        unit = cindex.Index.create().parse(str(source), args=args, options=skip)
    except cindex.TranslationUnitLoadError as exc:
        raise BuildError(f"clang cannot read {source.name} for its doc comments: {exc}") from None
    docs = DocComments()
    kinds = cindex.CursorKind
    struct_docs: dict[Any, dict[str, Any]] = {}  # anonymous structs (maps) and their comment
    exported = {source.resolve(), *(h.resolve() for h in headers)}
    is_exported: dict[str, bool] = {}  # by file name: vmlinux.h alone declares 10^5 things
    for cursor in unit.cursor.get_children():
        where = cursor.location.file
        if where is None:
            continue
        path = Path(where.name)
        if cursor.kind == kinds.STRUCT_DECL and cursor.spelling:
            if where.name not in is_exported:
                is_exported[where.name] = path.resolve() in exported
            if is_exported[where.name] and (tags := member_tags(cursor, kinds.FIELD_DECL, path)):
                docs.members.setdefault(cursor.spelling, {}).update(tags)
        if path != source:
            continue
        comment = parse_comment(cursor.raw_comment) if cursor.raw_comment else {}
        if cursor.kind == kinds.STRUCT_DECL:
            if comment:
                struct_docs[cursor.hash] = comment
        elif cursor.kind == kinds.VAR_DECL:
            map_doc = struct_docs.get(cursor.type.get_declaration().hash)
            if map_doc is not None:
                docs.maps[cursor.spelling] = map_doc
            elif cursor.spelling == "LICENSE":
                docs.license.update(comment)
            elif comment:
                docs.variables[cursor.spelling] = comment
        elif cursor.kind == kinds.FUNCTION_DECL and comment:
            docs.functions[cursor.spelling] = comment
    return docs


_COMMENT_MARK = re.compile(r"^\s*(?:///?|/\*\*?|\*/|\*)\s?")
_TRAILING = re.compile(r"^\s*(?:///<|//!<|/\*\*<|/\*!<)")
_TAG = re.compile(r"[@\\](\w+)(?:[ \t]+([^\s@*]+))?")


def member_tags(struct: Any, field_kind: Any, path: Path) -> dict[str, dict[str, str]]:
    """Member name -> tags of a struct cursor's members whose doc comment has some."""
    out: dict[str, dict[str, str]] = {}
    previous: Any = None
    lines: list[str] | None = None
    for member in struct.get_children():
        if member.kind != field_kind:
            continue
        raw = member.raw_comment
        if raw and (tags := parse_member_comment(raw, member.spelling)):
            if previous is not None and not _TRAILING.match(raw):
                lines = lines if lines is not None else path.read_text().splitlines()
                _refuse_misplaced(lines, previous, member, path)
            out[member.spelling] = tags
        previous = member
    return out


def _refuse_misplaced(lines: list[str], previous: Any, member: Any, path: Path) -> None:
    """A ``///`` after a member on its line is taken by clang for the next member's."""
    end = previous.extent.end
    if end.file is None or not 0 < end.line <= len(lines):
        return
    rest = lines[end.line - 1][end.column - 1 :]
    if re.search(r"///(?!<)", rest):
        raise BuildError(
            f"{path.name}:{end.line}: the /// comment after member {previous.spelling!r} "
            f"documents the next member, {member.spelling!r}; write ///< to document "
            f"{previous.spelling!r}, or put the comment on the line above it"
        )


def parse_member_comment(raw: str, member: str = "") -> dict[str, str]:
    """``@role gauge @unit pages`` anywhere in a member's comment, as ``{"role": "gauge",
    "unit": "pages"}``; other text and tags (a description, ``@brief``) are left out."""
    text = " ".join(_COMMENT_MARK.sub("", line) for line in raw.splitlines())
    text = _TRAILING.sub("", text).removesuffix("*/")
    tags: dict[str, str] = {}
    for m in _TAG.finditer(text):
        key, value = m.group(1), m.group(2)
        if key not in MEMBER_TAGS:
            continue
        if not value:
            raise BuildError(f"member {member!r}: @{key} needs a value, like @{key} ...")
        if key in tags and tags[key] != value:
            raise BuildError(f"member {member!r}: @{key} is given twice")
        tags[key] = value
    return tags


def parse_comment(raw: str) -> dict[str, Any]:
    """One comment: plain text to ``description``, ``@word rest`` to ``word`` (JSON if it
    parses, true when empty); a blank line ends a paragraph."""
    out: dict[str, Any] = {}
    key = "description"
    buf: list[str] = []

    def flush() -> None:
        text = " ".join(s for s in buf if s).strip()
        if key in DOXYGEN_BLOCKS:
            out[key] = text
        elif text:
            try:
                out[key] = json.loads(text)
            except json.JSONDecodeError:
                out[key] = text
        elif key != "description":
            out[key] = True

    for line in raw.splitlines():
        s = _COMMENT_MARK.sub("", line).strip()
        if s.endswith("*/"):
            s = s[:-2].rstrip()
        if not s:
            flush()
            key, buf = "description", []
            continue
        if re.match(r"[@\\]\w+", s):
            if buf or key != "description":
                flush()
            word, _, rest = s[1:].partition(" ")
            key, buf = word, [rest.strip()]
        else:
            buf.append(s)
    if buf or key != "description":
        flush()
    return out
