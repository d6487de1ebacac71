"""The database itself: what was loaded, what was rejected, where data came from,
and whether the steps the analyses need have run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from grid.store import TABLES, open_reader

__all__ = ["Readiness", "access_summary", "database_summary", "has_synthetic_data", "list_load_notes", "list_loads",
           "list_quarantine", "list_sources", "open_database", "quarantine_reason_counts", "readiness",
           "table_counts"]


def list_loads(con: duckdb.DuckDBPyConnection, *, limit: int = 50) -> pd.DataFrame:
    """Most recent loads first, with their counts and status."""
    return con.execute(
        "SELECT load_id, kind, file_name, status, rows_in, rows_ok, rows_rejected, rows_inserted, rows_updated, "
        "rows_unchanged, rows_unmapped, rows_repaired, rows_without_location, source_crs, mapping, encoding, "
        "started_at, finished_at, message FROM loads ORDER BY load_id DESC LIMIT ?", [limit]).to_arrow_table().to_pandas()


def list_quarantine(con: duckdb.DuckDBPyConnection, *, load_id: int | None = None, limit: int = 100) -> pd.DataFrame:
    """Rejected rows with their reasons (newest load first), optionally of one load."""
    return con.execute(
        "SELECT q.load_id, l.file_name, q.row_number, q.reason, q.reason_codes, q.raw_json "
        "FROM quarantine q JOIN loads l USING (load_id) WHERE ? IS NULL OR q.load_id = ? "
        "ORDER BY q.load_id DESC, q.row_number LIMIT ?", [load_id, load_id, limit]).to_arrow_table().to_pandas()


def table_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Row count of every table of the schema."""
    rows = [(t, con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in TABLES]  # names: allow-list
    return pd.DataFrame(rows, columns=["table", "rows"]).astype({"table": object})


def database_summary(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The ``meta`` table as a dict (schema version, H3 resolution, creation time...)."""
    return dict(con.execute("SELECT key, value FROM meta ORDER BY key").fetchall())


def list_sources(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Data sources of facilities and complaints with row counts and a real/synthetic label."""
    return con.execute(
        "SELECT 'facilities' AS table_name, source, source_type, count(*) AS rows FROM facilities GROUP BY ALL "
        "UNION ALL SELECT 'complaints', source, NULL, count(*) FROM complaints GROUP BY ALL "
        "UNION ALL SELECT 'communities', source, NULL, count(*) FROM communities GROUP BY ALL "
        "ORDER BY table_name, source").to_arrow_table().to_pandas().assign(
            synthetic=lambda f: f["source"].str.startswith("synthetic"))


def has_synthetic_data(con: duckdb.DuckDBPyConnection) -> bool:
    """True when any community, facility or complaint comes from a synthetic source (the demo city)."""
    return bool(con.execute(
        "SELECT EXISTS (SELECT 1 FROM communities WHERE source LIKE 'synthetic%') "
        "OR EXISTS (SELECT 1 FROM facilities WHERE source LIKE 'synthetic%') "
        "OR EXISTS (SELECT 1 FROM complaints WHERE source LIKE 'synthetic%')").fetchone()[0])


def quarantine_reason_counts(con: duckdb.DuckDBPyConnection, load_id: int) -> pd.DataFrame:
    """Rejected rows of one load counted per problem code."""
    return con.execute(
        "SELECT code, count(*) AS rows FROM (SELECT unnest(string_split(reason_codes, ',')) AS code "
        "FROM quarantine WHERE load_id = ?) GROUP BY code ORDER BY rows DESC, code", [load_id]).to_arrow_table().to_pandas()


def open_database(path: Path) -> duckdb.DuckDBPyConnection | None:
    """A read-only connection to ``path``, or None when no database exists there."""
    if not Path(path).exists():
        return None
    return open_reader(Path(path))


def list_load_notes(con: duckdb.DuckDBPyConnection, load_id: int) -> pd.DataFrame:
    """Notes of one load about rows it kept: repaired geometries, values kept as 'unmapped', population spread."""
    return con.execute("SELECT row_number, record_id, note FROM load_notes WHERE load_id = ? "
                       "ORDER BY row_number NULLS FIRST", [load_id]).to_arrow_table().to_pandas()


@dataclass(frozen=True)
class Readiness:
    """Which inputs of the life-circle analyses exist: counts per table and the access run."""

    communities: int
    facilities: int
    network_edges: int
    access_rows: int
    access_computed_at: str | None
    categories_with_facilities: tuple[str, ...]
    categories_with_access: tuple[str, ...]

    @property
    def missing(self) -> str | None:
        """The first missing step: 'communities', 'facilities', 'network', 'access', or None."""
        for step, count in (("communities", self.communities), ("facilities", self.facilities),
                            ("network", self.network_edges), ("access", self.access_rows)):
            if count == 0:
                return step
        return None

    @property
    def stale_categories(self) -> tuple[str, ...]:
        """Categories with facilities but no access rows: facilities loaded after ``grid access compute``."""
        return tuple(sorted(set(self.categories_with_facilities) - set(self.categories_with_access)))


def readiness(con: duckdb.DuckDBPyConnection) -> Readiness:
    """What the coverage, community and what-if pages need, and whether it is there."""
    counts = con.execute(
        "SELECT (SELECT count(*) FROM communities), (SELECT count(*) FROM facilities), "
        "(SELECT count(*) FROM network_edges), (SELECT count(*) FROM cell_access)").fetchone()
    computed = con.execute("SELECT value FROM meta WHERE key = 'access_computed_at'").fetchone()
    with_facilities = con.execute("SELECT DISTINCT category FROM facilities ORDER BY 1").fetchall()
    with_access = con.execute("SELECT DISTINCT category FROM cell_access ORDER BY 1").fetchall()
    return Readiness(*(int(c) for c in counts), computed[0] if computed else None,
                     tuple(r[0] for r in with_facilities), tuple(r[0] for r in with_access))


def access_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The walking network and the last access run as (item, value) rows: sizes, islands, off-network counts."""
    network = con.execute(
        "SELECT (SELECT count(*) FROM network_nodes), (SELECT count(*) FROM network_edges), "
        "(SELECT coalesce(sum(length_m), 0) / 1000 FROM network_edges), (SELECT count(*) FROM network_components), "
        "(SELECT count(*) FROM network_components WHERE is_island), "
        "(SELECT count(*) FROM cell_snaps WHERE NOT on_network), (SELECT count(*) FROM cell_snaps), "
        "(SELECT count(*) FROM facility_snaps WHERE NOT on_network), "
        "(SELECT count(DISTINCT category) FROM cell_access)").fetchone()
    meta = dict(con.execute("SELECT key, value FROM meta WHERE key LIKE 'access_%'").fetchall())
    items = ["network_nodes", "network_edges", "network_km", "network_components", "network_islands",
             "cells_off_network", "cells_snapped", "facilities_off_network", "access_categories"]
    rows = [(item, f"{value:,.1f}" if item == "network_km" else f"{value:,}") for item, value in zip(items, network)]
    rows += [(key, meta[key]) for key in ("access_computed_at", "access_bound_m", "access_speed_m_per_min")
             if key in meta]
    return pd.DataFrame(rows, columns=["item", "value"]).astype(object)
