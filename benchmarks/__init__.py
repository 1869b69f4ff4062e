"""Benchmarks that need more than `python bench.py`'s in-process timing (e.g. a real server)."""
