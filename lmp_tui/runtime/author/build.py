"""``lmp build``: compile a libbpf-style ``.bpf.c`` with clang and pack an eunomia package.json.

Mirrors ecc (spec 6) with Debian's clang, llvm-strip and bpftool; doc comments (spec 1.4) are
the ones clang attaches to the declarations (``doc_comments``), as ecc reads them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cache import cache_dir
from ..errors import BuildError, LayoutError, PackageError
from ..format import skeleton
from ..format.btf import Btf
from ..format.elf import ElfFile
from ..format.layout import layout_from_export
from ..format.package import pack_package
from .doc_comments import DocComments, doc_comments

EUNOMIA_VERSION = "0.3.4"
BUILD_STAMP_KEY = "lmp_build"
_STRUCT_RE = re.compile(r"struct\s+(\w+)\s*\{")


@dataclass(frozen=True, slots=True)
class BuildResult:
    package_json: Path
    skel_json: Path
    object_path: Path
    meta: dict[str, Any]


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BuildError(f"{name} is not installed: apt-get install {package}")
    return path


def arch_define() -> str:
    machine = os.uname().machine
    return {
        "x86_64": "x86",
        "aarch64": "arm64",
        "ppc64le": "powerpc",
        "riscv64": "riscv",
        "mips64": "mips",
    }.get(machine, machine)


def system_includes(clang: str) -> list[str]:
    """clang's own include search list, as libbpf-tools passes it to -target bpf builds."""
    out = subprocess.run([clang, "-v", "-E", "-"], input="", capture_output=True, text=True)
    dirs, inside = [], False
    for line in out.stderr.splitlines():
        if line.startswith("#include <...> search starts here:"):
            inside = True
        elif line.startswith("End of search list."):
            break
        elif inside:
            dirs.append(line.strip())
    return dirs


def vmlinux_dir(explicit: Path | None = None, log: Callable[[str], None] = print) -> Path:
    """A directory holding ``vmlinux.h``: the given one, else one made from this kernel's BTF."""
    if explicit is not None:
        explicit = explicit.resolve()
        if not (explicit / "vmlinux.h").is_file():
            raise BuildError(f"{explicit}/vmlinux.h does not exist")
        return explicit
    cache = cache_dir() / "vmlinux" / os.uname().release
    header = cache / "vmlinux.h"
    if not header.is_file():
        bpftool = _tool("bpftool", "bpftool")
        if not Path("/sys/kernel/btf/vmlinux").exists():
            raise BuildError("this kernel has no BTF (/sys/kernel/btf/vmlinux): pass --vmlinux DIR")
        log(f"  GEN      vmlinux.h from this kernel's BTF -> {header}")
        cache.mkdir(parents=True, exist_ok=True)
        out = subprocess.run(
            [bpftool, "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"],
            capture_output=True,
        )
        if out.returncode != 0:
            raise BuildError(f"bpftool could not dump vmlinux BTF: {out.stderr.decode().strip()}")
        tmp = header.with_suffix(".tmp")
        tmp.write_bytes(out.stdout)
        tmp.replace(header)
    return cache


def find_source(target: Path) -> Path:
    if target.is_file():
        return target
    if target.is_dir():
        sources = sorted(target.glob("*.bpf.c"))
        if len(sources) == 1:
            return sources[0]
        if not sources:
            raise BuildError(f"no *.bpf.c file in {target}")
        raise BuildError(f"several *.bpf.c files in {target}: name one")
    raise BuildError(f"{target}: no such file or directory")


def default_header(source: Path) -> Path | None:
    stem = source.name.split(".", 1)[0]
    header = source.with_name(stem + ".h")
    return header if header.is_file() else None


def build(
    source: Path,
    header: Path | None = None,
    outdir: Path | None = None,
    vmlinux: Path | None = None,
    extra_cflags: list[str] | None = None,
    stamp: bool = True,
    log: Callable[[str], None] = print,
) -> BuildResult:
    source = find_source(source).resolve()
    # clang runs in a scratch directory: include paths are made absolute, and mapped like the
    # others so that the object (its line info) is the same wherever the tree is
    cflags = [f"-I{Path(f[2:]).resolve()}" if f.startswith("-I") else f for f in extra_cflags or []]
    include_dirs = [f[2:] for f in cflags if f.startswith("-I")]
    header = header.resolve() if header else default_header(source)
    outdir = (outdir or source.parent).resolve()
    name = source.name.split(".", 1)[0]
    clang = _tool("clang", "clang")
    strip = shutil.which("llvm-strip") or _tool("llvm-strip-14", "llvm")
    inc = vmlinux_dir(vmlinux, log)
    text = source.read_text()
    structs = _STRUCT_RE.findall(header.read_text()) if header else []
    outdir.mkdir(parents=True, exist_ok=True)
    obj_path = outdir / f"{name}.bpf.o"
    with tempfile.TemporaryDirectory(prefix="lmp-build-") as tmp:
        unit = Path(tmp) / source.name
        # ecc's trick (spec 1.5): a dummy pointer per exported struct keeps its BTF alive.
        unit.write_text(
            text
            + "".join(
                f"\nconst volatile struct {s} * __eunomia_dummy_{s}_ptr __attribute__((unused));"
                for s in structs
                if f"__eunomia_dummy_{s}_ptr" not in text
            )
            + "\n"
        )
        language = [
            "-target",
            "bpf",
            "-Wno-unknown-attributes",
            f"-D__TARGET_ARCH_{arch_define()}",
            *[f for d in system_includes(clang) for f in ("-idirafter", d)],
            f"-I{inc}",
            f"-I{source.parent}",
            *cflags,
        ]
        cmd = [
            clang,
            "-g",
            "-O2",
            *language,
            f"-fdebug-prefix-map={tmp}=.",
            f"-fdebug-prefix-map={source.parent}=.",
            f"-fdebug-prefix-map={inc}=.",
            *[f"-fdebug-prefix-map={d}=." for d in include_dirs],
            "-c",
            unit.name,
            "-o",
            str(obj_path),
        ]
        log(f"  BPF      {source.name} -> {obj_path.name}")
        out = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True)
        if out.returncode != 0:
            first = next(
                (ln for ln in out.stderr.splitlines() if "error" in ln), out.stderr.strip()
            )
            raise BuildError(f"clang failed to compile {source.name}: {first}")
        docs = doc_comments(unit, language, clang, [header] if header else [])
    out = subprocess.run([strip, "-g", str(obj_path)], capture_output=True, text=True)
    if out.returncode != 0:
        raise BuildError(f"llvm-strip failed: {out.stderr.strip()}")
    obj = obj_path.read_bytes()
    meta = package_meta(obj, f"{name}.bpf.o", docs, structs)
    if stamp:
        meta[BUILD_STAMP_KEY] = build_stamp(clang)
    skel_json = outdir / f"{name}.skel.json"
    skel_json.write_text(json.dumps(meta, sort_keys=True, separators=(",", ":")))
    package_json = outdir / "package.json"
    package_json.write_bytes(pack_package(obj, meta))
    log(f"  PACKAGE  {package_json}")
    return BuildResult(package_json, skel_json, obj_path, meta)


def build_stamp(clang: str) -> dict[str, str]:
    from ... import __version__

    version = subprocess.run([clang, "--version"], capture_output=True, text=True).stdout
    return {"tool": f"lmp-tui {__version__}", "clang": version.splitlines()[0] if version else ""}


def package_meta(
    obj: bytes, filename: str, docs: DocComments, structs: list[str]
) -> dict[str, Any]:
    """``meta`` for an object: bpf_skel with doc comments merged, export_types, version."""
    try:
        elf = ElfFile(obj)
        raw = elf.section(".BTF")
        if raw is None:
            raise BuildError("the object has no .BTF section")
        btf = Btf.parse(elf.section_data(raw))
    except PackageError as exc:
        raise BuildError(str(exc)) from None
    skel = skeleton.bpf_skel(elf, btf, skeleton.obj_name_for(filename))
    merge_docs(skel, docs)
    exports = [
        e
        for s in skeleton.outermost_first(btf, structs)
        if (e := skeleton.export_type(btf, s)) is not None
    ]
    for export in exports:
        annotate_members(btf, export, docs.members.get(export["name"], {}))
    return {"bpf_skel": skel, "eunomia_version": EUNOMIA_VERSION, "export_types": exports}


def annotate_members(btf: Btf, export: dict[str, Any], tags: dict[str, dict[str, str]]) -> None:
    """Give ``export``'s members the tags their doc comments carry (``@role gauge`` becomes
    ``"role": "gauge"``), checked as a loader will check them, so that a bad one fails the
    build rather than every run."""
    if not tags:
        return
    members = {m["name"]: m for m in export["members"]}
    for name, member_tags in tags.items():
        if name not in members:
            raise BuildError(f"struct {export['name']}: tags for {name!r}, which is no member")
        members[name].update(member_tags)
    try:
        layout_from_export(btf, export)
    except LayoutError as exc:
        raise BuildError(f"struct {export['name']}: {exc}") from None


# -- doc comments ------------------------------------------------------------------------------


def merge_docs(skel: dict[str, Any], docs: DocComments) -> None:
    for section in skel["data_sections"]:
        for v in section["variables"]:
            v.update(docs.variables.get(v["name"], {}))
    for m in skel["maps"]:
        m.update(docs.maps.get(m["name"], {}))
    for p in skel["progs"]:
        p.update(docs.functions.get(p["name"], {}))
    if docs.license:
        skel["doc"] = {
            k: v
            for k, v in docs.license.items()
            if k in ("version", "brief", "details", "description")
        }
