"""The long fuzz run: at least ``--cases`` (100,000) random cases per parser, reported per parser.

    .venv/bin/python tests/fuzz/long_run.py [--cases 100000] [--jobs 2]

Each parser's cases are shared among the fuzz tests that feed it, and run in chunks of at most
``--chunk`` cases, each chunk a pytest process of its own with a fresh random seed: hypothesis
keeps what it explored for the length of a run (several MB per thousand cases), so one process
per 100,000 cases would measure hypothesis's memory, not ours. Every chunk enforces the same
bounds as CI (only the project's exceptions, 2 s and 256 MB per case; ``conftest.py``); the
table says, per parser, how many cases ran, how many failed, and the highest peak RSS of any
chunk.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

PARSERS: dict[str, list[str]] = {
    "package.json": [
        "test_fuzz_package.py::test_fuzz_package_random_bytes",
        "test_fuzz_package.py::test_fuzz_mutated_hub_package_metadata",
        "test_fuzz_package.py::test_fuzz_type_preserving_metadata",
        "test_fuzz_package.py::test_fuzz_flipped_and_truncated_objects",
    ],
    "BTF": [
        "test_fuzz_package.py::test_fuzz_btf_random_bytes",
        "test_fuzz_package.py::test_fuzz_btf_parser_and_walkers",
    ],
    "ELF": ["test_fuzz_package.py::test_fuzz_elf_reader"],
    "layouts + decoder": [
        "test_fuzz_package.py::test_fuzz_layout_from_any_json",
        "test_fuzz_package.py::test_fuzz_recorded_layouts_and_decoder",
    ],
    "program parameters": ["test_fuzz_package.py::test_fuzz_program_parameters"],
    "recordings": [
        "test_fuzz_recording.py::test_flipped_bytes",
        "test_fuzz_recording.py::test_truncated_anywhere",
        "test_fuzz_recording.py::test_values_of_other_types",
        "test_fuzz_recording.py::test_huge_declared_sizes",
        "test_fuzz_recording.py::test_random_bytes",
        "test_fuzz_recording.py::test_random_bytes_after_a_real_header",
    ],
    "OCI manifests": [
        "test_fuzz_oci.py::test_fuzz_parse_manifest_bytes",
        "test_fuzz_oci.py::test_fuzz_parse_manifest_shaped",
    ],
    "registry replies": [
        "test_fuzz_oci.py::test_fuzz_parse_reference",
        "test_fuzz_oci.py::test_fuzz_parse_challenge",
        "test_fuzz_oci.py::test_fuzz_next_link",
        "test_fuzz_oci.py::test_fuzz_urls_servers_name",
        "test_fuzz_oci.py::test_fuzz_registry_bodies",
        "test_fuzz_oci.py::test_fuzz_read_limited",
        "test_fuzz_oci.py::test_fuzz_shown_is_one_line",
    ],
    "config file": [
        "test_fuzz_config.py::test_fuzz_config_random_bytes",
        "test_fuzz_config.py::test_fuzz_config_shapes",
    ],
    "wasm modules": [
        "test_fuzz_wasm.py::test_fuzz_wasm_random_module_bytes",
        "test_fuzz_wasm.py::test_fuzz_wasm_mutated_guest",
    ],
    "wasm host ABI": [
        "test_fuzz_wasm.py::test_fuzz_wasm_guest_with_wild_arguments",
        "test_fuzz_wasm.py::test_fuzz_wasm_host_abi_wild_pointers",
        "test_fuzz_wasm.py::test_fuzz_wasm_empty_memory",
        "test_fuzz_wasm.py::test_fuzz_wasm_output_lines",
    ],
}
RSS_LINE = re.compile(r"fuzz: peak RSS (\d+) MB")


@dataclass(frozen=True, slots=True)
class Chunk:
    parser: str
    test: str
    cases: int
    seed: int


@dataclass(frozen=True, slots=True)
class Outcome:
    chunk: Chunk
    ok: bool
    rss_mb: int
    seconds: float
    tail: str


def chunks(cases: int, chunk: int, rng: random.Random) -> list[Chunk]:
    out = []
    for parser, tests in PARSERS.items():
        per_test = math.ceil(cases / len(tests))
        for test in tests:
            left = per_test
            while left > 0:
                n = min(chunk, left)
                out.append(Chunk(parser, test, n, rng.randrange(2**32)))
                left -= n
    return out


def run(chunk: Chunk) -> Outcome:
    env = {**os.environ, "LMP_FUZZ": "long", "LMP_FUZZ_EXAMPLES": str(chunk.cases)}
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--hypothesis-seed={chunk.seed}",
            str(HERE / chunk.test),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    rss = RSS_LINE.search(done.stdout)
    return Outcome(
        chunk,
        done.returncode == 0,
        int(rss[1]) if rss else -1,
        time.monotonic() - started,
        done.stdout[-3000:],
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cases", type=int, default=100_000, help="random cases per parser")
    ap.add_argument("--chunk", type=int, default=2_500, help="cases per pytest process")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=None, help="seed of the chunk seeds")
    ap.add_argument("--only", default="", help="comma-separated parsers (default: all)")
    args = ap.parse_args()
    if args.only:
        wanted = set(args.only.split(","))
        for parser in set(PARSERS) - wanted:
            del PARSERS[parser]
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    todo = chunks(args.cases, args.chunk, random.Random(seed))
    print(f"fuzz: {len(todo)} chunks, {args.jobs} at a time, seed {seed}", flush=True)
    started = time.monotonic()
    results: dict[str, list[Outcome]] = defaultdict(list)
    with ThreadPoolExecutor(args.jobs) as pool:
        for outcome in pool.map(run, todo):
            results[outcome.chunk.parser].append(outcome)
            if not outcome.ok:
                c = outcome.chunk
                print(f"FAILED {c.test} (seed {c.seed}, {c.cases} cases):\n{outcome.tail}")
    print(f"{'parser':<20} {'cases':>9} {'failed':>7} {'peak RSS':>9} {'CPU s':>7}")
    failed = 0
    for parser, outcomes in results.items():
        cases = sum(o.chunk.cases for o in outcomes)
        bad = sum(not o.ok for o in outcomes)
        failed += bad
        rss = max(o.rss_mb for o in outcomes)
        seconds = sum(o.seconds for o in outcomes)
        print(f"{parser:<20} {cases:>9,} {bad:>7} {rss:>6} MB {seconds:>7.0f}")
    print(f"fuzz: {failed} failed chunks in {time.monotonic() - started:.0f} s (seed {seed})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
