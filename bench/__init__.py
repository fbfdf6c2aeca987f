"""Stepback benchmarks: each workload on Stepback's default engine and on LangGraph.

Run everything with `python -m bench` (see `python -m bench --help`). `bench.workloads` holds the
Stepback side, `bench.peers` the LangGraph side (imported only when LangGraph is measured),
`bench.timing` the best-of-N timer and `bench.runner` the command line and the table.
"""
