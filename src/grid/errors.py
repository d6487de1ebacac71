"""The public error tree of grid. Every message says what is wrong, the value
seen, and how to fix it."""

from __future__ import annotations

__all__ = [
    "GridError",
    "InputError",
    "MappingError",
    "EncodingError",
    "CRSError",
    "SchemaVersionError",
    "DatabaseMissingError",
    "DatabaseBusyError",
    "ConfigError",
]


class GridError(Exception):
    """Base class of every error grid raises on purpose."""


class ConfigError(GridError, ValueError):
    """A setting or environment variable has an unusable value."""


class InputError(GridError, ValueError):
    """An input file cannot be read as a whole (rows with problems go to quarantine instead)."""


class MappingError(InputError):
    """A column mapping does not fit the file or is malformed."""


class EncodingError(InputError):
    """A text file's character encoding could not be determined or decoded."""


class CRSError(GridError, ValueError):
    """A coordinate reference system is unknown or unsupported."""


class SchemaVersionError(GridError, RuntimeError):
    """The database was written by an older or newer version of grid."""


class DatabaseMissingError(GridError, FileNotFoundError):
    """The database file does not exist yet."""


class DatabaseBusyError(GridError, RuntimeError):
    """Another process is writing the database."""
