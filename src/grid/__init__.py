"""grid: life-circle and grid-governance analytics for Chinese cities.

Modules, one concern each (imports only go down this list):
settings, errors -> crs, h3index -> store -> io (readers, mappings, validation,
privacy, export), ingest, network, accessibility, standards -> coverage (coverage,
gaps, compliance, what-if) -> queries (the read API of the app) -> maps, reports, cli.
"""

__version__ = "0.1.0"
