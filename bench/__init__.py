"""Benchmarks, run by bench/run.py (`make bench`). One module per benchmark."""
