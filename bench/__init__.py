"""Benchmarks for the Track API: DynamoDB request units per operation, and handler cold-start imports.

Run with ``make bench`` (``python -m bench``); results are written into ``bench/README.md``.
"""
