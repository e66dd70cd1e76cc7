"""``lmp gen-wasm-skel`` and ``lmp build-wasm``: a WebAssembly user-space app for a built project.

``gen-wasm-skel`` reads the project's ``package.json`` (made by ``lmp build``) and writes:

* ``<stem>.skel.h``: the BPF object embedded as a byte array, with a libbpf-style skeleton
  (``<obj>__open/__load/__attach/__destroy``, map fds, ``.rodata`` globals to set before load);
* ``<stem>.wasm.h``: the exported event struct, packed with explicit padding so it has the BPF
  object's layout on wasm32 (a ``_Static_assert`` checks the size);
* ``wasm-include/``: the C helper layer shipped in the package (``libbpf-wasm.h``: the six
  ``wasm_bpf`` imports and helpers; ``lmp-wasm-app.h``: JSON output and option parsing);
* ``app.c`` (only if missing, or with ``force``): open, parse options into ``.rodata``, load,
  attach, poll the event buffer and print each record as a JSON line, code generated from the
  export layout.

``build-wasm`` compiles ``app.c`` with Debian's clang for ``wasm32-wasi`` against wasi-libc.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import BuildError, LayoutError, NotFoundError
from ..format import skeleton
from ..format.layout import Field, FieldKind, StructLayout, field_from_btf
from ..format.package import Package, load_package
from ..format.params import Parameter, parameters
from .templates import inside, read_config, templates_root

INCLUDE_DIR = "wasm-include"
HELPERS = ("libbpf-wasm.h", "lmp-wasm-app.h")
APP_TEMPLATE = "app.c.in"
FILE_BACKED = (".rodata", ".data")
SYSROOTS = ("/usr", "/opt/wasi-sdk/share/wasi-sysroot", "/usr/share/wasi-sysroot")


@dataclass(frozen=True, slots=True)
class WasmProject:
    """A built project: where it is and the package ``lmp build`` made there."""

    path: Path
    package: Package
    package_path: Path
    stem: str  # "bootstrap": names the generated headers
    obj: str  # "bootstrap_bpf": names the skeleton's C symbols
    app: str  # "app.c"
    output: str  # "app.wasm"

    @property
    def skel_header(self) -> str:
        return f"{self.stem}.skel.h"

    @property
    def event_header(self) -> str:
        return f"{self.stem}.wasm.h"


@dataclass(frozen=True, slots=True)
class GenResult:
    written: tuple[Path, ...]
    kept: tuple[Path, ...]  # user files left alone (app.c)


def c_ident(name: str) -> str:
    ident = re.sub(r"\W", "_", name)
    return ident if ident and not ident[0].isdigit() else "_" + ident


def c_string(text: str) -> str:
    """``text`` as the inside of a C string literal."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    return "".join(out)


def load_project(path: Path) -> WasmProject:
    path = path.resolve()
    if not path.is_dir():
        raise NotFoundError(f"{path}: no such project directory")
    config = read_config(path)
    wasm = config.get("wasm")
    wasm = wasm if isinstance(wasm, dict) else {}
    package_path = inside(path, config.get("package", "package.json"), "package")
    app = wasm.get("app", "app.c")
    output = wasm.get("output", "app.wasm")
    inside(path, app, "wasm.app")
    inside(path, output, "wasm.output")
    if not package_path.is_file():
        raise NotFoundError(f"{package_path} does not exist: run `lmp build` in {path} first")
    package = load_package(package_path)
    obj = c_ident(package.obj_name)
    return WasmProject(
        path, package, package_path, obj.removesuffix("_bpf") or obj, obj, app, output
    )


# -- C declarations from layouts ------------------------------------------------------------


def scalar_type(f: Field) -> str | None:
    """The fixed-size C type of a scalar field, or None for arrays, strings and composites."""
    bits = f.size * 8
    match f.kind:
        case FieldKind.INT | FieldKind.ENUM if f.size in (1, 2, 4, 8):
            return f"{'' if f.signed else 'u'}int{bits}_t"
        case FieldKind.INT128:
            return "__int128" if f.signed else "unsigned __int128"
        case FieldKind.BOOL:
            return "bool" if f.size == 1 else f"uint{bits}_t"
        case FieldKind.FLOAT:
            return "float" if f.size == 4 else "double"
        case FieldKind.PTR:
            return f"uint{bits}_t"  # a kernel address: only a number on this side
    return None


def member_name(f: Field, index: int) -> str:
    return c_ident(f.name) if f.name else f"__anon{index}"


def declare(f: Field, name: str, indent: str) -> list[str]:
    """The member declaration(s) for field ``f`` (nested composites as anonymous packed types)."""
    if f.kind == FieldKind.STRING:
        return [f"{indent}char {name}[{f.size}];"]
    if f.kind == FieldKind.ARRAY and f.elem is None:
        return [f"{indent}unsigned char {name}[{f.size}];"]  # opaque bytes
    if f.kind == FieldKind.ARRAY:
        assert f.elem is not None
        dims = "".join(f"[{d}]" for d in f.dims)
        return declare(f.elem, f"{name}{dims}", indent)
    if f.kind in (FieldKind.STRUCT, FieldKind.UNION):
        keyword = "struct" if f.kind == FieldKind.STRUCT else "union"
        body = (
            struct_body(f.members, f.size, indent + "\t")
            if f.kind == FieldKind.STRUCT
            else union_body(f.members, f.size, indent + "\t")
        )
        return [f"{indent}{keyword} __attribute__((packed)) {{", *body, f"{indent}}} {name};"]
    ctype = scalar_type(f)
    if ctype is None:
        return [f"{indent}unsigned char {name}[{f.size}];"]
    return [f"{indent}{ctype} {name};"]


def struct_body(fields: tuple[Field, ...], size: int, indent: str) -> list[str]:
    """Members in offset order, with ``__padN`` where the BPF layout has holes."""
    out: list[str] = []
    pos = pads = 0
    for i, f in sorted(enumerate(fields), key=lambda item: item[1].offset):
        if f.offset < pos:
            raise LayoutError(f"member {f.name!r} overlaps the previous member")
        if f.offset > pos:
            out.append(f"{indent}char __pad{pads}[{f.offset - pos}];")
            pads += 1
        out += declare(f, member_name(f, i), indent)
        pos = f.offset + f.size
    if size > pos:
        out.append(f"{indent}char __pad{pads}[{size - pos}];")
    return out


def union_body(fields: tuple[Field, ...], size: int, indent: str) -> list[str]:
    out = [line for i, f in enumerate(fields) for line in declare(f, member_name(f, i), indent)]
    return [*out, f"{indent}char __size[{size}];"]


def event_header(layout: StructLayout, stem: str, source: str = "package.json") -> str:
    """``<stem>.wasm.h``: the export struct for wasm32, byte for byte the BPF layout."""
    guard = f"__{c_ident(stem).upper()}_WASM_H"
    name = c_ident(layout.name)
    lines = [
        "/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */",
        f"/* Generated by `lmp gen-wasm-skel` from {source}: do not edit. */",
        f"/* struct {layout.name} as the BPF object lays it out ({layout.size} bytes), for wasm32:",
        " * packed, with the holes the BPF compiler left made explicit. */",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <stdbool.h>",
        "#include <stdint.h>",
        "",
        f"struct __attribute__((packed)) {name} {{",
        *struct_body(layout.fields, layout.size, "\t"),
        "};",
        "",
        f"_Static_assert(sizeof(struct {name}) == {layout.size},",
        f'\t       "struct {name} must have the layout of the BPF object");',
        "",
        f"#endif /* {guard} */",
        "",
    ]
    return "\n".join(lines)


# -- JSON printing code from layouts ----------------------------------------------------------


class JsonPrinter:
    """C statements that print a field as ``lmp run -j`` would (values), in struct order."""

    def __init__(self) -> None:
        self.depth = 0

    def value(self, f: Field, expr: str, indent: str) -> list[str]:
        match f.kind:
            case FieldKind.INT | FieldKind.PTR if f.signed:
                return [f'{indent}printf("%lld", (long long)({expr}));']
            case FieldKind.INT | FieldKind.PTR:
                return [f'{indent}printf("%llu", (unsigned long long)({expr}));']
            case FieldKind.INT128:
                fn = "lmp_json_i128" if f.signed else "lmp_json_u128"
                return [f"{indent}{fn}({expr});"]
            case FieldKind.BOOL:
                return [f'{indent}fputs(({expr}) ? "true" : "false", stdout);']
            case FieldKind.FLOAT:
                return [f"{indent}lmp_json_double((double)({expr}));"]
            case FieldKind.STRING:
                return [f"{indent}lmp_json_string({expr}, {f.size});"]
            case FieldKind.ENUM:
                return self._enum(f, expr, indent)
            case FieldKind.ARRAY:
                return self._array(f, expr, indent)
            case FieldKind.STRUCT | FieldKind.UNION:
                tag = (str(f.kind), f.type_name)
                return self.object(f.members, f"{expr}.", indent, tag)
        return [f'{indent}fputs("null", stdout);']

    def object(
        self, fields: tuple[Field, ...], prefix: str, indent: str, tag: tuple[str, str] | None
    ) -> list[str]:
        out = [f"{indent}putchar('{{');"]
        for i, f in enumerate(fields):
            out.append(
                f'{indent}lmp_json_key("{c_string(f.name)}", {"true" if i == 0 else "false"});'
            )
            out += self.value(f, prefix + member_name(f, i), indent)
        if tag is not None:
            kind, type_name = tag
            text = f',"__EUNOMIA_TYPE":"{kind}","__EUNOMIA_TYPE_NAME":"{type_name}"'
            out.append(f'{indent}fputs("{c_string(text)}", stdout);')
        out.append(f"{indent}putchar('}}');")
        return out

    def _enum(self, f: Field, expr: str, indent: str) -> list[str]:
        ctype, fmt = ("long long", "%lld") if f.signed else ("unsigned long long", "%llu")
        names = {v: n for n, v in f.enum_values}  # the last name of a value wins, as in decode
        inner = indent + "\t"
        out = [
            f"{indent}{{",
            f"{inner}{ctype} v = ({ctype})({expr});",
            f'{inner}const char *name = "<UNKNOWN_VARIANT>";',
            "",
            f"{inner}switch (v) {{",
        ]
        for value, name in names.items():
            suffix = "LL" if f.signed else "ULL"
            literal = f"({value}{suffix})" if value < 0 else f"{value}{suffix}"
            out += [
                f"{inner}case {literal}:",
                f'{inner}\tname = "{c_string(name)}";',
                f"{inner}\tbreak;",
            ]
        out += [
            f"{inner}default:",
            f"{inner}\tbreak;",
            f"{inner}}}",
            f'{inner}printf("\\"%s({fmt})\\"", name, v);',
            f"{indent}}}",
        ]
        return out

    def _array(self, f: Field, expr: str, indent: str) -> list[str]:
        assert f.elem is not None
        out: list[str] = []
        index = expr
        ind = indent
        for dim in f.dims:
            var = f"i{self.depth}"
            self.depth += 1
            out += [
                f"{ind}putchar('[');",
                f"{ind}for (int {var} = 0; {var} < {dim}; {var}++) {{",
                f"{ind}\tif ({var})",
                f"{ind}\t\tputchar(',');",
            ]
            ind += "\t"
            index += f"[{var}]"
        out += self.value(f.elem, index, ind)
        for _ in f.dims:
            ind = ind[:-1]
            out += [f"{ind}}}", f"{ind}putchar(']');"]
        return out


def event_handler(layout: StructLayout) -> str:
    """``print_event`` (JSON from the export layout) and the buffer callback ``handle_event``."""
    name = c_ident(layout.name)
    body = JsonPrinter().object(layout.fields, "e->", "\t", None)
    lines = [
        "/* One event as one line of JSON, fields in struct order (generated from the export",
        " * layout of package.json; edit freely). */",
        f"static void print_event(const struct {name} *e)",
        "{",
        *body,
        "\tputchar('\\n');",
        "}",
        "",
        "/* Called by the host for every record of the buffer. */",
        "static int handle_event(void *ctx, void *data, size_t size)",
        "{",
        f"\tstruct {name} e;",
        "",
        "\t(void)ctx;",
        "\t/* a record shorter than the struct (cut by the host) reads as zeros */",
        "\tmemset(&e, 0, sizeof(e));",
        "\tmemcpy(&e, data, size < sizeof(e) ? size : sizeof(e));",
        "\tprint_event(&e);",
        "\treturn 0;",
        "}",
        "",
    ]
    return "\n".join(lines)


# -- the skeleton header ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Global:
    """A global of a file-backed data section: settable in the embedded object before load."""

    section: str  # ".rodata"
    field: Field
    param: Parameter | None


def globals_by_section(package: Package) -> dict[str, list[Global]]:
    params = {p.name: p for p in parameters(package)}
    out: dict[str, list[Global]] = {}
    for v in package.variables:
        if v.section not in FILE_BACKED:
            continue
        if v.type.startswith("char["):
            # `const volatile char x[N]`: qualified chars, still a string to the options
            f = Field(v.name, FieldKind.STRING, v.offset, v.size)
        else:
            try:
                f = field_from_btf(package.btf, v.type_id, v.name, v.offset)
            except LayoutError:
                f = Field(v.name, FieldKind.ARRAY, v.offset, v.size)  # opaque bytes
        out.setdefault(v.section, []).append(Global(v.section, f, params.get(v.name)))
    return out


def section_ident(section: str) -> str:
    return c_ident(section.lstrip("."))


def skeleton_header(project: WasmProject) -> str:
    pkg = project.package
    obj = project.obj
    guard = f"__{obj.upper()}_WASM_SKEL_H__"
    elf = pkg.obj
    maps = [m.name for m in skeleton.map_defs(pkg.btf)]
    progs = [p.name for p in pkg.progs]
    data = globals_by_section(pkg)
    out = [
        "/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */",
        f"/* Generated by `lmp gen-wasm-skel` from {project.package_path.name}: do not edit;",
        " * run it again after `lmp build` (`lmp build-wasm` does when package.json is newer). */",
        f"/* The BPF object {pkg.obj_name} embedded for a wasm-bpf app, with a libbpf-style",
        " * skeleton over libbpf-wasm.h. */",
        f"#ifndef {guard}",
        f"#define {guard}",
        "",
        "#include <errno.h>",
        "#include <stdbool.h>",
        "#include <stdint.h>",
        "#include <stdlib.h>",
        "",
        '#include "libbpf-wasm.h"',
        "",
    ]
    offsets: dict[str, int] = {}
    for section, items in data.items():
        sec = pkg.elf.section(section)
        if sec is None or sec.is_nobits:
            continue
        offsets[section] = sec.offset
        ident = section_ident(section)
        fields = tuple(g.field for g in items)
        out += [
            f"/* {section} globals at their offsets in the object: set them between",
            f" * {obj}__open() and {obj}__load(). */",
            f"struct __attribute__((packed)) {obj}__{ident} {{",
            *struct_body(fields, max(f.offset + f.size for f in fields), "\t"),
            "};",
            "",
            f"_Static_assert(sizeof(struct {obj}__{ident}) <= {sec.size},",
            f'\t       "the {section} globals must fit the section");',
            "",
        ]
    out += [f"struct {obj} {{", "\tstruct bpf_object *obj; /* after __load() */"]
    if maps:
        out += ["\tstruct { /* map fds, after __load() */"]
        out += [f"\t\tint {c_ident(m)};" for m in maps]
        out += ["\t} maps;"]
    for section in offsets:
        ident = section_ident(section)
        out.append(f"\tstruct {obj}__{ident} *{ident}; /* into the embedded object */")
    out += ["};", ""]
    names = ", ".join(f'"{c_string(p)}"' for p in progs) or "NULL"
    out += [f"static const char *const {obj}__progs[] = {{{names}}};", ""]
    out += [
        f"/* {pkg.obj_name}: {len(elf)} bytes; the host loads exactly this image. */",
        f"static unsigned char {obj}__elf[{len(elf)}] __attribute__((aligned(8))) = {{",
        *(
            "\t" + ", ".join(f"0x{b:02x}" for b in elf[i : i + 16]) + ","
            for i in range(0, len(elf), 16)
        ),
        "};",
        "",
        f"static inline struct {obj} *{obj}__open(void)",
        "{",
        f"\tstruct {obj} *skel = calloc(1, sizeof(*skel));",
        "",
        "\tif (!skel)",
        "\t\treturn NULL;",
    ]
    for section, offset in offsets.items():
        ident = section_ident(section)
        out.append(f"\tskel->{ident} = (struct {obj}__{ident} *)({obj}__elf + {offset});")
    out += [
        "\treturn skel;",
        "}",
        "",
        f"static inline int {obj}__load(struct {obj} *skel)",
        "{",
        f"\tskel->obj = bpf_object__load_mem({obj}__elf, sizeof({obj}__elf));",
        "\tif (!skel->obj)",
        "\t\treturn -EINVAL;",
        *(f'\tskel->maps.{c_ident(m)} = bpf_object__map_fd(skel->obj, "{m}");' for m in maps),
        "\treturn 0;",
        "}",
        "",
        f"static inline int {obj}__attach(struct {obj} *skel)",
        "{",
        f"\treturn bpf_object__attach_all(skel->obj, {obj}__progs, {len(progs)});",
        "}",
        "",
        f"static inline struct {obj} *{obj}__open_and_load(void)",
        "{",
        f"\tstruct {obj} *skel = {obj}__open();",
        "",
        f"\tif (skel && {obj}__load(skel)) {{",
        "\t\tfree(skel);",
        "\t\treturn NULL;",
        "\t}",
        "\treturn skel;",
        "}",
        "",
        f"static inline void {obj}__destroy(struct {obj} *skel)",
        "{",
        "\tif (!skel)",
        "\t\treturn;",
        "\tbpf_object__close(skel->obj);",
        "\tfree(skel);",
        "}",
        "",
        f"#endif /* {guard} */",
        "",
    ]
    return "\n".join(out)


# -- app.c ------------------------------------------------------------------------------------

_INT_LIMITS = {
    1: ("INT8_MIN", "INT8_MAX", "UINT8_MAX"),
    2: ("INT16_MIN", "INT16_MAX", "UINT16_MAX"),
    4: ("INT32_MIN", "INT32_MAX", "UINT32_MAX"),
    8: ("INT64_MIN", "INT64_MAX", "UINT64_MAX"),
}


def _option_code(g: Global, target: str) -> list[str]:
    """How ``parse_args`` sets one global from its option (as ``lmp run X -- --opt`` would)."""
    p = g.param
    f = g.field
    assert p is not None
    t = "\t\t"
    if p.is_bool:
        value = "false" if p.default else "true"
        # Every long spelling lmp run takes (--failed, ecli's --enable-failed): one app, one
        # command line.
        longs = [n[2:] for n in (*p.names, *p.aliases) if n.startswith("--")] or [p.flag[2:]]
        test = " || ".join(f'lmp_flag(arg, "{c_string(n)}")' for n in longs)
        return [
            f"{t}if ({test}) {{",
            f"{t}\t{target} = {value};",
            f"{t}\tcontinue;",
            f"{t}}}",
        ]
    short = f'"{c_string(p.short)}"' if p.short else "NULL"
    bad = (
        f'{t}\t\tfprintf(stderr, "%s: invalid value for --{c_string(p.long)}: %s\\n", argv[0], '
        'value ? value : "(missing)");'
    )
    head = [f'{t}if (lmp_option(argc, argv, &i, {short}, "{c_string(p.long)}", &value)) {{']
    if f.kind == FieldKind.STRING:
        parse = [
            f"{t}\tif (lmp_parse_string(value, {target}, sizeof({target}))) {{",
            bad,
            f"{t}\t\treturn -EINVAL;",
            f"{t}\t}}",
        ]
    elif f.kind == FieldKind.FLOAT:
        parse = [
            f"{t}\tdouble v;",
            "",
            f"{t}\tif (lmp_parse_double(value, &v)) {{",
            bad,
            f"{t}\t\treturn -EINVAL;",
            f"{t}\t}}",
            f"{t}\t{target} = v;",
        ]
    elif f.kind in (FieldKind.INT, FieldKind.ENUM) and f.size in _INT_LIMITS:
        lo, hi, uhi = _INT_LIMITS[f.size]
        if f.signed:
            decl, call = "long long v;", f"lmp_parse_int(value, {lo}, {hi}, &v)"
        else:
            decl, call = "unsigned long long v;", f"lmp_parse_uint(value, {uhi}, &v)"
        parse = [
            f"{t}\t{decl}",
            "",
            f"{t}\tif ({call}) {{",
            bad,
            f"{t}\t\treturn -EINVAL;",
            f"{t}\t}}",
            f"{t}\t{target} = v;",
        ]
    else:
        return [f"{t}/* {p.name}: a {f.kind} global has no option; set it in code */"]
    return [*head, *parse, f"{t}\tcontinue;", f"{t}}}"]


def _default_code(g: Global, target: str) -> list[str]:
    p = g.param
    if p is None or p.default is None:
        return []
    value = p.default
    if p.is_bool:
        return [f"\t{target} = {'true' if value else 'false'};"]
    if g.field.kind == FieldKind.STRING and isinstance(value, str):
        return [f'\tlmp_parse_string("{c_string(value)}", {target}, sizeof({target}));']
    if isinstance(value, bool) or not isinstance(value, int | float):
        return []
    if g.field.kind in (FieldKind.INT, FieldKind.ENUM, FieldKind.FLOAT):
        return [f"\t{target} = {value!r};"]
    return []


def _usage_line(g: Global) -> str:
    p = g.param
    assert p is not None
    short = f"-{p.short}, " if p.short and not p.is_bool else "    "
    opt = short + (p.flag if p.is_bool else f"--{p.long} VALUE")
    return f'\t\t"  {c_string(opt):<26}  {c_string(p.help)}\\n"\n'


def _main_loop(kind: str, event_map: str) -> str:
    if kind not in ("ringbuf", "perf"):
        return (
            '\tfprintf(stderr, "attached; %s exports no events: read its maps here '
            '(Ctrl-C to stop)\\n", argv[0]);\n'
            "\t/* nothing to poll: sleep until the host ends the app */\n"
            "\tfor (;;)\n"
            "\t\tsleep(1);\n"
        )
    what = "ring buffer" if kind == "ringbuf" else "perf buffer"
    return (
        "\t{\n"
        f'\t\tstruct bpf_buffer *buf = bpf_buffer__open(skel->obj, "{event_map}", '
        "handle_event, NULL);\n"
        "\n"
        "\t\tif (!buf) {\n"
        "\t\t\terr = -errno;\n"
        f'\t\t\tfprintf(stderr, "failed to open the {what} {event_map}\\n");\n'
        "\t\t\tgoto cleanup;\n"
        "\t\t}\n"
        f'\t\tfprintf(stderr, "running and waiting for the ebpf events from {what}...\\n");\n'
        "\t\twhile ((err = bpf_buffer__poll(buf, 100)) >= 0)\n"
        "\t\t\t;\n"
        "\t\t/* -EINTR: the host is stopping the app (Ctrl-C, --duration): a normal end */\n"
        "\t\tif (err == -EINTR)\n"
        "\t\t\terr = 0;\n"
        "\t\telse\n"
        f'\t\t\tfprintf(stderr, "error polling the {what}: %d\\n", err);\n'
        "\t\tbpf_buffer__free(buf);\n"
        "\t}\n"
    )


def app_source(project: WasmProject) -> str:
    pkg = project.package
    choice = pkg.export()
    layout = choice.layout
    streams = choice.kind in ("ringbuf", "perf") and layout is not None
    offsets = {s for s in FILE_BACKED if (sec := pkg.elf.section(s)) and not sec.is_nobits}
    settable = [
        g
        for section, items in globals_by_section(pkg).items()
        if section in offsets
        for g in items
        if g.param is not None
    ]

    def target(g: Global) -> str:
        return f"skel->{section_ident(g.section)}->{c_ident(g.field.name)}"

    replacements = {
        "NAME": project.stem,
        "SKEL_HEADER": project.skel_header,
        "EVENT_MAP": choice.map_name if streams else "(none)",
        "EVENT_INCLUDE": f'#include "{project.event_header}"\n' if streams else "",
        "EVENT_HANDLER": event_handler(layout) if streams and layout else "",
        "DESCRIPTION": c_string(pkg.description or "A simple eBPF program"),
        "USAGE": "".join(_usage_line(g) for g in settable),
        "DEFAULTS": "".join(line + "\n" for g in settable for line in _default_code(g, target(g))),
        "OPTIONS": "".join(line + "\n" for g in settable for line in _option_code(g, target(g))),
        "OBJ": project.obj,
        "MAIN_LOOP": _main_loop(choice.kind if streams else "none", choice.map_name),
    }
    text = (templates_root() / "wasm" / APP_TEMPLATE).read_text()
    return re.sub(r"@@(\w+)@@", lambda m: replacements[m.group(1)], text)


# -- the commands ---------------------------------------------------------------------------


def gen_wasm_skel(path: Path, force: bool = False, log: Callable[[str], None] = print) -> GenResult:
    project = load_project(path)
    written: list[Path] = []
    kept: list[Path] = []

    def write(rel: str, text: str) -> None:
        dest = inside(project.path, rel, rel)  # names come from the package too
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
        written.append(dest)
        log(f"  GEN      {rel}")

    for helper in HELPERS:
        write(f"{INCLUDE_DIR}/{helper}", (templates_root() / "wasm" / helper).read_text())
    write(project.skel_header, skeleton_header(project))
    layout = project.package.export_layout()
    if layout is not None:
        write(
            project.event_header,
            event_header(layout, project.stem, project.package_path.name),
        )
    app = project.path / project.app
    if app.exists() and not force:
        kept.append(app)
        log(f"  KEEP     {project.app} (yours; --force writes it again)")
    else:
        write(project.app, app_source(project))
    return GenResult(tuple(written), tuple(kept))


def wasi_sysroot() -> Path:
    """Where wasi-libc lives: ``$WASI_SYSROOT``, Debian's ``/usr``, or a wasi-sdk."""
    candidates = [os.environ.get("WASI_SYSROOT", ""), *SYSROOTS]
    for c in candidates:
        if c and (Path(c) / "lib/wasm32-wasi/libc.a").is_file():
            return Path(c)
    raise BuildError(
        "no WASI sysroot found (wasi-libc): apt-get install wasi-libc, or set WASI_SYSROOT"
    )


def _clang() -> str:
    path = shutil.which("clang")
    if path is None:
        raise BuildError("clang is not installed: apt-get install clang lld")
    return path


def _check_builtins(clang: str, sysroot: Path) -> None:
    out = subprocess.run(
        [clang, "--target=wasm32-wasi", f"--sysroot={sysroot}", "-print-libgcc-file-name"],
        capture_output=True,
        text=True,
    )
    lib = out.stdout.strip()
    if out.returncode != 0 or not lib or not Path(lib).is_file():
        version = re.search(r"clang-(\d+)", os.path.realpath(clang))
        pkg = f"libclang-rt-{version.group(1)}-dev-wasm32" if version else "libclang-rt-dev-wasm32"
        raise BuildError(f"clang has no wasm32 runtime ({lib or 'unknown'}): apt-get install {pkg}")


def build_wasm(
    path: Path,
    output: Path | None = None,
    extra_cflags: list[str] | None = None,
    log: Callable[[str], None] = print,
) -> Path:
    project = load_project(path)
    app = project.path / project.app
    if not app.is_file():
        raise BuildError(f"{app} does not exist: run `lmp gen-wasm-skel` first")
    skel = project.path / project.skel_header
    if not skel.is_file() or skel.stat().st_mtime < project.package_path.stat().st_mtime:
        log(f"  NOTE     {project.package_path.name} is newer: regenerating the headers")
        gen_wasm_skel(project.path, force=False, log=log)
    clang = _clang()
    sysroot = wasi_sysroot()
    _check_builtins(clang, sysroot)
    out = (output or project.path / project.output).resolve()
    cmd = [
        clang,
        "--target=wasm32-wasi",
        f"--sysroot={sysroot}",
        "-O2",
        "-Wall",
        "-Wno-unused-function",
        f"-I{project.path / INCLUDE_DIR}",
        f"-I{project.path}",
        *(extra_cflags or []),
        # Callbacks are table indices: the host needs the table exported.
        "-Wl,--export-table",
        project.app,  # relative: clang runs in the project, and so read its messages
        "-o",
        str(out),
    ]
    log(f"  WASM     {project.app} -> {out.name}")
    result = subprocess.run(cmd, cwd=project.path, capture_output=True, text=True)
    if result.returncode != 0:
        lines = result.stderr.splitlines()
        first = next((ln for ln in lines if "error" in ln), result.stderr.strip() or "failed")
        raise BuildError(f"clang failed to build {project.app}: {first}")
    for line in result.stderr.splitlines():
        if "warning:" in line:
            log(f"  WARN     {line}")
    return out


def ewasm_skel_header(package_json: bytes) -> str:
    """``ewasm-skel.h`` for the legacy ewasm ABI (``ecc --wasm-header``): the whole package.json
    as ``char program_data[]``, for ``create_bpf(program_data, strlen(program_data))``.

    Unlike ecc, which only escapes ``"``, every byte that needs it is escaped, and the string is
    split into lines (octal escapes cannot swallow a following digit).
    """
    text = package_json.decode("utf-8")
    chunks = [c_string(text[i : i + 96]) for i in range(0, len(text), 96)]
    body = "\n".join(f'\t"{chunk}"' for chunk in chunks) or '\t""'
    return (
        "/* Generated by lmp: a package.json for the ewasm ABI (env.create_bpf). */\n"
        "#ifndef __EWASM_SKEL_H\n"
        "#define __EWASM_SKEL_H\n\n"
        f"char program_data[] =\n{body};\n\n"
        "#endif /* __EWASM_SKEL_H */\n"
    )
