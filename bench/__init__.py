"""Measures of the messaging backbone, each against a baseline taken in the same run.

    uv run --frozen python -m bench.run_all          # all four, one combined JSON
    uv run --frozen python -m bench.catchup --help   # or one at a time: catchup, latency,
                                                     # commands, cohort

Method and latest numbers: docs/performance.md. Results: bench/results/*.json.
"""
