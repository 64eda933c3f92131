"""Benchmarks that print ratios (run with `make bench`); not timed tests."""
