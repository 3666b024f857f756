"""Benchmarks (`make bench`): numbers are printed here, never asserted in tests."""
