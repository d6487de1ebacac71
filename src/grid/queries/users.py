"""Users and the routing queue for the CLI and the admin: who may log in, how complaints
were routed, and the unrouted queue with reasons. No password hashes leave this module."""

from __future__ import annotations

import duckdb
import pandas as pd

from grid.store import query_frame

__all__ = ["list_users", "demo_logins", "routing_summary", "unrouted_queue"]


def list_users(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """username, display_name, role, manager_id, grids, active, is_demo (no hashes)."""
    return query_frame(con,
        "SELECT u.username, u.display_name, u.role, u.manager_id, "
        "(SELECT string_agg(grid_id, ';' ORDER BY grid_id) FROM manager_grids m WHERE m.manager_id = u.manager_id) "
        "AS grids, u.active, u.is_demo FROM users u ORDER BY u.role, u.username")


def demo_logins(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Active demo users (one per role) for the one-click demo login: username, role, display_name."""
    return query_frame(con, "SELECT username, role, display_name FROM users WHERE is_demo AND active "
                       "ORDER BY CASE role WHEN 'grid_manager' THEN 0 WHEN 'supervisor' THEN 1 WHEN 'planner' THEN 2 "
                       "WHEN 'analyst' THEN 3 ELSE 4 END, username")


def routing_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Complaints per routing level and method (grid/community/none x point/address/none)."""
    return query_frame(con, "SELECT level, method, count(*) AS complaints, count(*) FILTER (manager_id IS NULL "
                       "AND level = 'grid') AS without_manager FROM complaint_routes GROUP BY ALL "
                       "ORDER BY level DESC, method")


def unrouted_queue(con: duckdb.DuckDBPyConnection, *, limit: int = 100) -> pd.DataFrame:
    """Unrouted complaints, newest first: complaint_id, received_at, category, reason (no personal data)."""
    return query_frame(con, "SELECT c.complaint_id, c.received_at, c.category, r.reason FROM complaint_routes r "
                       "JOIN complaints c USING (complaint_id) WHERE r.level = 'none' "
                       "ORDER BY c.received_at DESC LIMIT ?", [limit])
