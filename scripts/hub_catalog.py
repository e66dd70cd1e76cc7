"""Write the attach points of every built-in program into lmp_tui/hub/catalog.json (make hub).

The catalog is what lists of programs show before any package is parsed; category and summary
are written by hand, the attach points come from each program's package.json: ``attach`` those
it cannot run without, ``optional`` those it runs without where the kernel lacks them.
"""

from __future__ import annotations

import json

from lmp_tui.runtime.distribution.hub import builtin_programs, hub_dir


def main() -> None:
    path = hub_dir() / "catalog.json"
    catalog = json.loads(path.read_text())
    for program in builtin_programs():
        entry = catalog.setdefault(program.name, {"category": "other", "summary": ""})
        progs = program.package.progs
        entry["attach"] = [p.attach for p in progs if not p.optional]
        entry.pop("optional", None)
        if optional := [p.attach for p in progs if p.optional]:
            entry["optional"] = optional
    lines = [
        f"  {json.dumps(name)}: {json.dumps(entry, ensure_ascii=False)}"
        for name, entry in sorted(catalog.items())
    ]
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n")


if __name__ == "__main__":
    main()
