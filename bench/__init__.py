"""Benchmarks of the admission path: `python -m bench` runs them all and prints the figures."""
