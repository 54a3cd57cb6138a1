"""Benchmarks: the engine against what a user would pick instead (see docs/benchmarks.md).

``python -m benchmarks --scale S`` runs every suite and writes
``benchmarks/results/S.json``; ``python -m benchmarks.report`` turns the results
into ``docs/benchmarks.md`` and its plots.
"""
