"""Program parameters: ``const volatile`` globals as command-line options (spec 3), and the bytes
written into ``.rodata``/``.bss`` before load (spec 2, step 4).

One naming for ``lmp run X -- ...``, its ``--help``, and the TUI's form and details panel:
``Parameter.names`` (``Parameter.flag`` first). A bool is set by the package's own option and
short option, ``--failed``/``-x`` as bcc's tools spell them, and by ecli's ``--enable-failed``
too (eunomia's bpf-loader-rs gives a bool only ``--enable-X`` when it defaults to false,
``--disable-X`` when to true, ``--X`` without a default, and no short option): every command line
ecli accepts means the same here. A parameter named for a signal (``--signal``, ``sig``...: the
naming rule of event fields, ``stream.store.fields``) takes ``SIGUSR1``, ``USR1`` or ``10``.
"""

from __future__ import annotations

import argparse
import re
import signal
import struct
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from ..errors import PackageError, ParameterError
from ..untrusted import shown
from .btf import INT_BOOL, INT_SIGNED, Btf, Kind
from .limits import is_option
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
    names: tuple[str, ...] = ()
    """The options that set it, as ``-- --help``, the TUI's form and its details show them:
    ``("--failed", "-x")``, ``("--pid", "-p")``, ``("--disable-uid",)``."""
    aliases: tuple[str, ...] = ()
    """Spellings accepted too, and shown only by ``-- --help``: ecli's ``--enable-failed``."""

    @property
    def name(self) -> str:
        return self.variable.name

    @property
    def flag(self) -> str:
        """The option a user types: ``--pid``; for a bool, the one that changes it from its
        default (``--failed``, ``--disable-uid``). The same answer in the CLI and the TUI."""
        return self.names[0] if self.names else _ecli_names(self)[0]

    @property
    def label(self) -> str:
        """Every name, as a form or a table shows it: ``--failed, -x``."""
        return ", ".join(self.names or _ecli_names(self))

    @property
    def is_signal(self) -> bool:
        """It holds a signal number, and takes a signal's name too (``USR1``)."""
        return is_signal_variable(self.variable)

    def parse(self, value: Any) -> Any:
        """``value`` (text from a command line or a form) for this variable; a bad one is a
        ``ParameterError`` that names the option and what it takes."""
        return _coerce(self.variable, value, self.flag)


def _ecli_names(p: Parameter) -> tuple[str, ...]:
    """The options ecli's parser gives a variable (bpf-loader-rs ``meta/arg_builder.rs``)."""
    if not p.is_bool:
        return (f"--{p.long}",) + ((f"-{p.short}",) if p.short else ())
    if p.default is None:
        return (f"--{p.long}",)
    return (f"--disable-{p.long}",) if p.default else (f"--enable-{p.long}",)


RESERVED_OPTIONS = frozenset({"-h", "--help", "--verbose"})


def _named(params: Iterable[Parameter]) -> list[Parameter]:
    """``params`` with their ``names`` and ``aliases``.

    ecli's names are always accepted (a clash among them is the package's fault, refused by
    ``argument_parser``). A bool that defaults to false also gets its package's own ``--long``
    and ``-short``, shown first; a bool without a default its ``-short``. Either is left out
    when another option already has that name: nothing ecli accepts changes meaning. A bool
    that defaults to true keeps only ``--disable-X``: a ``--X`` that turns X off would mislead.
    """
    params = list(params)
    taken = set(RESERVED_OPTIONS).union(*(_ecli_names(p) for p in params))
    out = []
    for p in params:
        ecli = _ecli_names(p)
        if not p.is_bool or p.default:
            out.append(replace(p, names=ecli))
            continue
        wanted = ([] if p.default is None else [f"--{p.long}"]) + (
            [f"-{p.short}"] if p.short else []
        )
        extra = tuple(n for n in wanted if n not in taken)
        taken.update(extra)
        if extra and extra[0].startswith("--"):
            out.append(replace(p, names=extra, aliases=ecli))
        else:
            out.append(replace(p, names=ecli + extra))
    return out


def parameters(package: Package) -> list[Parameter]:
    out = []
    for v in package.variables:
        cmd = v.cmdarg if isinstance(v.cmdarg, dict) else {}
        long = str(cmd.get("long") or v.name)
        if not is_option(long):  # a variable's name comes from the object's BTF: untrusted
            raise PackageError(
                f"variable {shown(v.name, 80)!r} cannot be an option name --{shown(long, 80)}"
            )
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
    return _named(out)


class _Parser(argparse.ArgumentParser):
    """Reports bad program arguments as one ``ParameterError`` line instead of usage + exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ParameterError(f"{self.prog}: {_one_line(message)} (see `-- --help`)")


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}


def _one_line(text: str) -> str:
    """``text`` (it quotes the user's arguments) with control characters escaped."""
    return text.translate(_CONTROL)


def argument_parser(package: Package, prog: str | None = None) -> argparse.ArgumentParser:
    """The option parser ecli would build for this package (``lmp run X -- --help``).

    Every text comes from the package: ``%`` is escaped (argparse formats help strings), a
    metavar is made of safe characters, and an option argparse refuses (a clash with
    ``--verbose`` or ``-h``, two variables with one name) is a one-line ``PackageError``.
    """
    skel = package.skel
    raw_doc = skel.get("doc")
    doc: dict[str, Any] = raw_doc if isinstance(raw_doc, dict) else {}
    prog = prog or package.name
    parser = _Parser(
        prog=prog,
        description=_raw_text(
            _text(doc.get("brief")) or _text(doc.get("description")) or "A simple eBPF program"
        ),
        epilog=_raw_text(_text(doc.get("details")) or "Built with eunomia-bpf framework."),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--verbose", action="store_true", help="Whether to show libbpf debug info")
    for p in parameters(package):
        try:
            if p.is_bool:
                parser.add_argument(
                    *p.names, *p.aliases, dest=p.name, action="store_true", help=_help_text(p.help)
                )
            else:
                parser.add_argument(
                    *p.names,
                    *p.aliases,
                    dest=p.name,
                    metavar="SIGNAL" if p.is_signal else _metavar(p.variable.type),
                    default=None,
                    help=_help_text(p.help),
                )
        except (argparse.ArgumentError, ValueError, TypeError) as exc:
            raise PackageError(f"{prog}: parameter {p.name!r}: {_one_line(str(exc))}") from None
    return parser


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _help_text(text: str) -> str:
    """A help string argparse shows as written (it %-formats them)."""
    return text.replace("%", "%%")


def _raw_text(text: str) -> str:
    """A description argparse shows as written (it %-formats one that mentions %(prog))."""
    return text.replace("%", "%%") if "%(prog)" in text else text


def _metavar(type_: str) -> str:
    """``CHAR[16]`` for ``char[16]``; argparse's usage wrapping breaks on stray brackets and
    spaces, so anything else becomes ``_``."""
    name = type_.upper().replace(" ", "_")
    if re.fullmatch(r"[A-Z0-9_*]{0,64}(\[\d{1,10}\])*", name):
        return name or "VALUE"
    return re.sub(r"[^A-Z0-9_]", "_", name)[:64] or "VALUE"


def parse_args(package: Package, argv: list[str]) -> tuple[dict[str, Any], bool]:
    """Values for the package's variables from program arguments, and the ``--verbose`` flag.

    A bool always gets a value (the flag flips its default); other variables only when given or
    defaulted: a missing value keeps the ELF default.
    """
    parser = argument_parser(package)
    ns = parser.parse_args(argv)
    values: dict[str, Any] = {}
    for p in parameters(package):
        given = getattr(ns, p.name)
        if p.is_bool:
            values[p.name] = (not p.default) if given else bool(p.default)
        elif given is not None:
            try:
                values[p.name] = p.parse(given)
            except ParameterError as exc:
                raise ParameterError(f"{parser.prog}: {exc}") from None
        elif p.default is not None:
            values[p.name] = coerce(p.variable, p.default)  # the package's: named by variable
    return values, bool(ns.verbose)


def command_line(package: Package, values: dict[str, Any]) -> list[str]:
    """The program arguments ``parse_args`` turns into ``values`` (what another host's
    ``lmp record PROGRAM -- ARGS`` is given): an option for each value that is not the
    default, a bool's flag when it flips its default."""
    argv: list[str] = []
    for p in parameters(package):
        if p.name not in values:
            continue
        value = values[p.name]
        if p.is_bool:
            if bool(value) != bool(p.default):
                argv.append(p.flag)
        elif p.default is None or value != coerce(p.variable, p.default):
            # --opt=VALUE: a value that starts with - is not taken for an option
            argv += [f"{p.flag}={value}"] if p.flag.startswith("--") else [p.flag, str(value)]
    return argv


def coerce(v: Variable, value: Any) -> Any:
    """Parse ``value`` by the variable's type string, as ecli does; a signal's variable takes a
    signal's name too. A bad value is a ``ParameterError`` naming the variable."""
    return _coerce(v, value, v.name)


def _coerce(v: Variable, value: Any, what: str) -> Any:
    if v.type.startswith("char["):
        return str(value)
    if v.type == "bool":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if str(value).lower() in ("0", "false", "no", "off"):
            return False
        raise ParameterError(f"{what}: {_shown(value)} is not a bool")
    kind = VALUE_TYPES.get(v.type)
    if kind is None:
        raise ParameterError(f"{what}: Not supporting parsing into type {v.type!r}")
    if kind is int and is_signal_variable(v) and not isinstance(value, bool | int):
        return _signal_number(value, what)
    try:
        return kind(str(value).strip(), 0) if kind is int else kind(value)
    except (ValueError, TypeError, OverflowError):
        raise ParameterError(f"{what}: {_shown(value)} is not a valid {v.type}") from None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def is_signal_variable(v: Variable) -> bool:
    """An integer variable named for a signal, by its name or its option's (``--signal``), as
    event fields are (``stream.store.fields.is_signal_field``)."""
    if VALUE_TYPES.get(v.type) is not int:
        return False
    long = v.cmdarg.get("long") if isinstance(v.cmdarg, dict) else None
    names = {v.name.lower(), long.lower() if isinstance(long, str) else ""}
    # Every signal name starts so: the store (and what it imports, ~6 ms of `lmp run`'s
    # start-up) is loaded only for a parameter that may be one.
    if not any(n.startswith("sig") for n in names):
        return False
    from ..stream.store.fields import SIGNAL_FIELD_NAMES

    return bool(names & SIGNAL_FIELD_NAMES)


def _signal_number(value: Any, what: str) -> int:
    """A signal number from ``SIGUSR1``, ``USR1``, ``usr1``, ``SIGRTMIN+2`` or ``10``; 0 passes
    (programs read it as "every signal")."""
    from ..stream.store.fields import parse_signal

    highest = int(signal.SIGRTMAX)
    try:
        number = parse_signal(str(value))
    except ValueError:
        try:
            number = int(str(value).strip(), 0)  # 0xa, as ecli's integers may be written
        except ValueError:
            number = -1
    if not 0 <= number <= highest:
        raise ParameterError(
            f"{what}: {_shown(value)} is not a signal: give a name (SIGUSR1 or USR1) or a "
            f"number from 0 to {highest}"
        )
    return number


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
        try:
            return struct.pack("<f" if t.size == 4 else "<d", value)
        except (OverflowError, struct.error):
            raise ParameterError(
                f"Overflow at variable {v.name}: {value} does not fit {v.type}"
            ) from None
    if t.kind == Kind.ARRAY and isinstance(value, str):
        try:
            raw = value.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raise ParameterError(f"{v.name}: {value!r} is not valid text") from None
        if len(raw) + 1 > v.size:
            raise ParameterError(f"{v.name}: {value!r} is longer than {v.type}")
        return raw + b"\0" * (v.size - len(raw))
    raise ParameterError(f"{v.name}: cannot write {type(value).__name__} into {v.type}")
