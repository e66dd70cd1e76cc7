"""The library the ``lmp`` command line and the ``lmp-tui`` app both stand on (no UI here).

Layers, each importing only those above it in this list:

* ``format``: untrusted artifacts parsed and checked, no kernel needed (ELF, BTF, layouts,
  eunomia ``package.json``, program parameters);
* ``stream``: batches of raw records and what consumes them (decoding, text output,
  recordings, stores and queries);
* ``kernel``: libbpf, loaded programs and the sources draining their maps;
* ``runs``: sessions (live, replay, scripted), the pipeline from a session to its sinks, runs;
* ``wasm``: the wasm-bpf and legacy ewasm hosts;
* ``distribution``: the built-in Hub, OCI registries, URLs, credentials, the cache;
* ``author``: building packages and wasm apps (``lmp build``, ``init``, ``build-wasm``).

``errors`` and ``units`` are shared by all of them.
"""
