"""Benchmarks of pi-dashboard: `python -m bench` (see bench/README.md)."""
