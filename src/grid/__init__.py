"""grid: life-circle and grid-governance analytics for Chinese cities.

Modules, one concern each (imports only go down this list):
settings, errors -> crs, h3index -> store -> io (readers, mappings, validation,
privacy), ingest -> queries -> cli.
"""

__version__ = "0.1.0"
