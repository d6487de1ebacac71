"""Grid governance (网格治理): working-day calendar, SLA clocks, complaint routing,
grid generation, hotspots, users and access rules.

Pure cores take frames and arrays; functions that take a DuckDB connection are
marked as such in their docstrings. Pages and notebooks read through
:mod:`grid.queries`, which applies the viewer's access rules.
"""
