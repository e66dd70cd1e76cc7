"""The few exception classes the runtime raises.

Each carries a message a user can act on; front ends print ``str(error)`` as one line and exit
non-zero. Anything else escaping the runtime is a bug.
"""


class LmpError(Exception):
    """Base class: a problem the user can fix, described in one line."""

    exit_code = 1


class PackageError(LmpError):
    """The package (package.json, .bpf.o, .wasm) is malformed, legacy or unsupported."""


class LayoutError(PackageError):
    """The exported struct layout cannot be resolved or decoded."""


class ParameterError(LmpError):
    """A program parameter has a bad value or type."""

    exit_code = 2


class KernelError(LmpError):
    """The kernel refused: missing privileges, tracepoint, BTF, verifier failure, attach failure."""


class BuildError(LmpError):
    """Compiling or packing a BPF program failed."""


class NotFoundError(LmpError):
    """A program, file or reference does not exist."""


class RecordingError(LmpError):
    """Not a recording, a newer format, or a recording that cannot be written."""
