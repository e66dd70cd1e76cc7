"""Doc comments (``///``, spec 1.4) on a BPF program's globals, maps, programs and licence.

Read the way eunomia's ecc reads them: clang attaches each comment to the declaration it
documents, and we ask clang (libclang, through its official Python bindings) for the top-level
declarations of the source file and their comments. No scanning of the text: a brace in a string
or a comment cannot mislead it. A map's comment documents its anonymous ``struct { ... }``, which
clang hands over as the declaration before the variable of that type.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import BuildError

DOXYGEN_BLOCKS = {"brief", "details", "version", "author", "note", "return", "param"}


@dataclass(frozen=True, slots=True)
class DocComments:
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    maps: dict[str, dict[str, Any]] = field(default_factory=dict)
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)
    license: dict[str, Any] = field(default_factory=dict)


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


def doc_comments(source: Path, args: list[str], clang: str = "clang") -> DocComments:
    """The doc comments of ``source``'s top-level declarations, parsed with the compile
    flags ``args`` (include paths, target, defines)."""
    cindex = _cindex(clang)
    skip = cindex.TranslationUnit.PARSE_SKIP_FUNCTION_BODIES
    try:
        unit = cindex.Index.create().parse(str(source), args=args, options=skip)
    except cindex.TranslationUnitLoadError as exc:
        raise BuildError(f"clang cannot read {source.name} for its doc comments: {exc}") from None
    docs = DocComments()
    kinds = cindex.CursorKind
    struct_docs: dict[Any, dict[str, Any]] = {}  # anonymous structs (maps) and their comment
    for cursor in unit.cursor.get_children():
        where = cursor.location.file
        if where is None or Path(where.name) != source:
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
