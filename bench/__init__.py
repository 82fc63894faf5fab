"""Benchmarks: `python -m bench.<name>`; each prints its figures and ratios against a same-run reference."""
