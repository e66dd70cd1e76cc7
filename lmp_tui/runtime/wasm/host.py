"""Runs WebAssembly eBPF apps (``app.wasm``) on wasmtime: the ABI is told from the module's
imports and exports, then the app runs on the host for it (``wasm_bpf`` or ``ewasm``)."""

from __future__ import annotations

from .ewasm import EwasmApp
from .guest import (
    DEFAULT_BUDGET_S,
    GuestRuntime,
    Output,
    RunOptions,
    abi_of,
    compile_module,
    new_engine,
)
from .wasm_bpf import WasmBpfApp

# -- entry points ------------------------------------------------------------------------------


def create_app(
    data: bytes,
    argv: list[str],
    stdout: Output,
    stderr: Output,
    options: RunOptions | None = None,
) -> GuestRuntime:
    """The app for ``data``, ready to ``run()`` (and ``stop()`` from another thread)."""
    options = options or RunOptions()
    engine = new_engine()
    module = compile_module(engine, data, options.name)
    if abi_of(module) == "ewasm":
        return EwasmApp(engine, module, argv, stdout, stderr, options)
    return WasmBpfApp(engine, module, argv, stdout, stderr, options)


def run_wasm(
    data: bytes,
    argv: list[str],
    stdout: Output,
    stderr: Output,
    *,
    name: str = "app.wasm",
    duration: float | None = None,
    budget_s: float | None = DEFAULT_BUDGET_S,
    preopens: tuple[tuple[str, str], ...] = (),
) -> int:
    """Run a wasm-bpf or ewasm app to completion and return its exit code.

    ``argv`` are the app's arguments (the guest sees ``[name, *argv]``). Traps and the watchdog
    raise ``WasmTrapError``; a malformed module raises ``PackageError``; Ctrl-C returns 130.
    """
    options = RunOptions(name, duration, budget_s, preopens)
    return create_app(data, argv, stdout, stderr, options).run()
