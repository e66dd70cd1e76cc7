"""Program parameters: ``const volatile`` globals as command-line options (spec 3), and the bytes
written into ``.rodata``/``.bss`` before load (spec 2, step 4).
"""

from __future__ import annotations

import argparse
import struct
from dataclasses import dataclass
from typing import Any

from ..errors import ParameterError
from .btf import INT_BOOL, INT_SIGNED, Btf, Kind
from .package import Package, Variable

# ecli parses values by the exact type string; anything else is refused when a value is given.
VALUE_TYPES: dict[str, type] = {
    "pid_t": int,
    "int": int,
    "short": int,
    "long": int,
    "long long": int,
    "unsigned int": int,
    "unsigned short": int,
    "unsigned long long": int,
    "float": float,
    "double": float,
}


@dataclass(frozen=True, slots=True)
class Parameter:
    """One option: how a user sets a variable."""

    variable: Variable
    long: str
    short: str | None
    help: str
    default: Any
    is_bool: bool

    @property
    def name(self) -> str:
        return self.variable.name

    @property
    def flag(self) -> str:
        """The option a user types to change a bool from its default."""
        if self.default is None:
            return f"--{self.long}"
        return f"--disable-{self.long}" if self.default else f"--enable-{self.long}"


def parameters(package: Package) -> list[Parameter]:
    out = []
    for v in package.variables:
        cmd = v.cmdarg
        long = str(cmd.get("long") or v.name)
        help_ = str(
            cmd.get("help") or v.description or f"Set value of `{v.type}` variable {v.name}"
        )
        default = cmd.get("default", v.value)
        short = cmd.get("short") if isinstance(cmd.get("short"), str) else None
        is_bool = v.type == "bool"
        out.append(
            Parameter(
                v, long, short if short and len(short) == 1 else None, help_, default, is_bool
            )
        )
    return out


class _Parser(argparse.ArgumentParser):
    """Reports bad program arguments as one ``ParameterError`` line instead of usage + exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ParameterError(f"{self.prog}: {message} (see `-- --help`)")


def argument_parser(package: Package, prog: str | None = None) -> argparse.ArgumentParser:
    """The option parser ecli would build for this package (``lmp run X -- --help``)."""
    skel = package.skel
    doc = skel.get("doc") or {}
    parser = _Parser(
        prog=prog or package.name,
        description=doc.get("brief") or doc.get("description") or "A simple eBPF program",
        epilog=doc.get("details") or "Built with eunomia-bpf framework.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--verbose", action="store_true", help="Whether to show libbpf debug info")
    for p in parameters(package):
        if p.is_bool:
            parser.add_argument(p.flag, dest=p.name, action="store_true", help=p.help)
        else:
            names = [f"--{p.long}"] + ([f"-{p.short}"] if p.short else [])
            parser.add_argument(
                *names,
                dest=p.name,
                metavar=p.variable.type.upper().replace(" ", "_"),
                default=None,
                help=p.help,
            )
    return parser


def parse_args(package: Package, argv: list[str]) -> tuple[dict[str, Any], bool]:
    """Values for the package's variables from program arguments, and the ``--verbose`` flag.

    A bool always gets a value (the flag flips its default); other variables only when given or
    defaulted: a missing value keeps the ELF default.
    """
    ns = argument_parser(package).parse_args(argv)
    values: dict[str, Any] = {}
    for p in parameters(package):
        given = getattr(ns, p.name)
        if p.is_bool:
            values[p.name] = (not p.default) if given else bool(p.default)
        elif given is not None or p.default is not None:
            values[p.name] = coerce(p.variable, given if given is not None else p.default)
    return values, bool(ns.verbose)


def coerce(v: Variable, value: Any) -> Any:
    """Parse ``value`` by the variable's type string, as ecli does."""
    if v.type.startswith("char["):
        return str(value)
    if v.type == "bool":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise ParameterError(f"{v.name}: {value!r} is not a bool")
    kind = VALUE_TYPES.get(v.type)
    if kind is None:
        raise ParameterError(f"{v.name}: Not supporting parsing into type {v.type!r}")
    try:
        return kind(str(value).strip(), 0) if kind is int else kind(value)
    except ValueError:
        raise ParameterError(f"{v.name}: {value!r} is not a valid {v.type}") from None


def encode(btf: Btf, v: Variable, value: Any) -> bytes:
    """The bytes of ``value`` for variable ``v``, by its BTF type.

    Floats are written little-endian. eunomia's Rust loader writes them big-endian (a bug its
    test suite pins); we do what the kernel reads.
    """
    t = btf.strip(v.type_id)
    if t.kind == Kind.INT and isinstance(value, bool):
        return (1 if value else 0).to_bytes(t.size, "little")
    if t.kind in (Kind.INT, Kind.ENUM) and isinstance(value, int):
        signed = bool(t.encoding & INT_SIGNED) if t.kind == Kind.INT else value < 0
        if t.kind == Kind.INT and t.encoding & INT_BOOL:
            signed = False
        try:
            return value.to_bytes(t.size, "little", signed=signed)
        except OverflowError:
            raise ParameterError(
                f"Overflow at variable {v.name}: {value} does not fit {v.type}"
            ) from None
    if t.kind == Kind.FLOAT and isinstance(value, int | float):
        return struct.pack("<f" if t.size == 4 else "<d", value)
    if t.kind == Kind.ARRAY and isinstance(value, str):
        raw = value.encode()
        if len(raw) + 1 > v.size:
            raise ParameterError(f"{v.name}: {value!r} is longer than {v.type}")
        return raw + b"\0" * (v.size - len(raw))
    raise ParameterError(f"{v.name}: cannot write {type(value).__name__} into {v.type}")
