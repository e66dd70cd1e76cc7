"""Demo recordings made on a real kernel by ``scripts/make_demos.py`` (data only)."""
