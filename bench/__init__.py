"""Benchmarks, run from the project folder as modules: ``python -m bench.metrics_bench --quick``,
``python -m bench.upsert_bench`` (each module's docstring says what it measures)."""
