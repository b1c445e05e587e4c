"""Benchmarks shipped with the package: ``cgan benchmark`` (backends, sizes, batches, machine ceilings)."""
