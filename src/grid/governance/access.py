"""Users, roles and access rules (用户与权限).

Roles come from ``geodata/governance/roles.csv`` (:func:`read_roles`) and are
copied into the ``roles`` table (:func:`write_roles`). A signed-in user becomes
a :class:`Viewer`, which every query takes so that the same rules apply on
every page: which grids it sees (网格员 only their own), whether it sees
personal data (masked names and phones; raw values are never stored, see
:mod:`grid.io.privacy`), exact addresses, and which pages it may open.

Passwords are stored only as argon2id hashes (argon2-cffi's defaults).
Functions that take a DuckDB connection run SQL on it; the caller owns the
transaction (use :func:`grid.store.write_session` to write).
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from grid.errors import ConfigError, GridError, InputError

if TYPE_CHECKING:
    import duckdb

    from grid.settings import Settings

__all__ = [
    "PAGES",
    "MIN_PASSWORD_CHARS",
    "AccessError",
    "Role",
    "Viewer",
    "roles_path",
    "read_roles",
    "system_viewer",
    "check_password_policy",
    "hash_password",
    "verify_password",
    "write_roles",
    "add_user",
    "set_password",
    "deactivate_user",
    "viewer_for",
    "authenticate",
    "create_demo_users",
]

log = logging.getLogger(__name__)

PAGES = ("home", "coverage", "community", "whatif", "data", "my_grid", "complaints", "workload")
"""Page keys a role may list, in the app's menu order."""

MIN_PASSWORD_CHARS = 8

_PAGE_SEP = "|"
_BOOLS = {"true": True, "false": False}
_ROLE_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_HASHER = PasswordHasher()
# A hash of a random password, made with argon2-cffi 25.1's defaults, verified
# when the username is unknown so a failed login takes as long either way.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$8SrBm8ak6bvFxp9uHWdRGg$JitHWfhHr1MkvXqb5+cYEahJ6CiROzGVUmJKqsH1zYg"
_DEMO_USERS = (("demo_admin", "admin"), ("demo_planner", "planner"),
               ("demo_supervisor", "supervisor"), ("demo_analyst", "analyst"))
_DEMO_MANAGER = ("demo_manager", "grid_manager")


class AccessError(GridError, PermissionError):
    """A user is unknown, deactivated, or has a role the database does not define."""


@dataclass(frozen=True)
class Role:
    """One row of ``roles.csv``: what a role sees and which pages it opens."""

    role: str
    name_zh: str
    name_en: str
    all_grids: bool
    personal_data: bool
    exact_address: bool
    pages: tuple[str, ...]
    description: str = ""


_COLUMNS = tuple(f.name for f in fields(Role))
_FLAG_COLUMNS = ("all_grids", "personal_data", "exact_address")


@dataclass(frozen=True)
class Viewer:
    """Who is looking, and what they may see.

    ``grid_ids`` is None for every grid; a role limited to its own grids gets a
    frozenset, empty when the manager has no grid (sees nothing).
    """

    username: str
    role: str
    display_name: str | None
    grid_ids: frozenset[str] | None
    manager_id: str | None
    personal_data: bool
    exact_address: bool
    pages: tuple[str, ...]

    def can_see_grid(self, grid_id: str) -> bool:
        """True when this viewer may see grid ``grid_id``."""
        return self.grid_ids is None or grid_id in self.grid_ids

    def may_open(self, page: str) -> bool:
        """True when ``page`` is among this viewer's pages; an unknown page key raises InputError."""
        if page not in PAGES:
            raise InputError(f"unknown page key {page!r}; page keys are {list(PAGES)}")
        return page in self.pages


_SYSTEM = Viewer(username="system", role="system", display_name="system (pipelines and CLI)",
                 grid_ids=None, manager_id=None, personal_data=True, exact_address=True, pages=PAGES)


def system_viewer() -> Viewer:
    """The viewer for pipelines and the CLI: every grid, personal data, exact addresses, every page."""
    return _SYSTEM


def roles_path(settings: Settings) -> Path:
    """Path of the shipped roles table, ``<geodata>/governance/roles.csv``."""
    return settings.governance_dir / "roles.csv"


# ---------------------------------------------------------------- roles.csv


def read_roles(path: Path) -> dict[str, Role]:
    """Read and validate a roles table; returns role id -> :class:`Role`.

    Booleans are ``true``/``false``, ``pages`` are ``|``-separated keys of
    :data:`PAGES`. All problems are reported at once in one ConfigError.
    Parsed tables are memoised by file content.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"roles table {path} not found; restore geodata/governance/roles.csv from git")
    text = path.read_bytes().decode("utf-8-sig")
    return {role.role: role for role in _parse_roles(text, str(path))}


@functools.lru_cache(maxsize=8)
def _parse_roles(text: str, source: str) -> tuple[Role, ...]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ConfigError(f"{source} lacks columns {missing}; columns are {reader.fieldnames}; "
                          f"the header must be {','.join(_COLUMNS)}")
    roles: list[Role] = []
    problems: list[str] = []
    seen: set[str] = set()
    for raw in reader:
        row = _clean_row(raw)
        row_problems = _row_problems(row, seen) if row else [
            f"has a different number of cells than the header ({len(_COLUMNS)} columns)"]
        seen.add(row["role"] if row else "")
        problems += [f"line {reader.line_num}: {p}" for p in row_problems]
        if row and not row_problems:
            roles.append(_role_from_row(row))
    if not roles and not problems:
        problems.append("no roles; add one row per role")
    if problems:
        raise ConfigError(f"{source} has {len(problems)} problem(s): " + "; ".join(problems)
                          + f". Fix those cells: booleans are true or false, pages are "
                          f"'{_PAGE_SEP}'-separated keys from {list(PAGES)}")
    return tuple(roles)


def _clean_row(raw: dict[str | None, str | None]) -> dict[str, str] | None:
    """The row's cells stripped, or None when it has more or fewer cells than the header."""
    if None in raw or None in raw.values():
        return None
    return {str(k): str(v).strip() for k, v in raw.items()}


def _row_problems(row: dict[str, str], seen: set[str]) -> list[str]:
    """Every problem of one roles.csv row (empty list when the row is good)."""
    problems = []
    if not _ROLE_ID.match(row["role"]):
        problems.append(f"role {row['role']!r} must be lower-case letters, digits and _ (e.g. grid_manager)")
    elif row["role"] in seen:
        problems.append(f"duplicate role {row['role']!r}; keep one row per role")
    problems += [f"{c} is empty" for c in ("name_zh", "name_en") if not row[c]]
    for column in _FLAG_COLUMNS:
        if row[column].lower() not in _BOOLS:
            problems.append(f"{column} must be true or false, saw {row[column]!r}")
    pages = _split_pages(row["pages"])
    unknown = [p for p in pages if p not in PAGES]
    if unknown:
        problems.append(f"unknown page keys {unknown} in pages")
    if not pages:
        problems.append("pages is empty; list at least one page")
    return problems


def _split_pages(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(_PAGE_SEP) if p.strip())


def _role_from_row(row: dict[str, str]) -> Role:
    flags = {c: _BOOLS[row[c].lower()] for c in _FLAG_COLUMNS}
    return Role(role=row["role"], name_zh=row["name_zh"], name_en=row["name_en"],
                pages=_split_pages(row["pages"]), description=row["description"], **flags)


# ---------------------------------------------------------------- passwords


def check_password_policy(username: str, password: str) -> None:
    """Raise InputError unless ``password`` has at least 8 characters and differs from the username."""
    problems = _password_problems(username, password)
    if problems:
        raise InputError(f"password for {username!r} rejected: " + "; ".join(problems))


def _password_problems(username: str, password: str) -> list[str]:
    problems = []
    if len(password) < MIN_PASSWORD_CHARS:
        problems.append(f"it has {len(password)} characters; use at least {MIN_PASSWORD_CHARS}")
    if password.strip().casefold() == username.strip().casefold():
        problems.append("it equals the username; choose a password that differs from the username")
    return problems


def hash_password(password: str) -> str:
    """An argon2id hash (PHC string, random salt) of ``password``, with argon2-cffi's default costs."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; False on mismatch or a malformed hash."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    """The dummy hash, remade once if argon2's default costs change (so timing still matches)."""
    if _HASHER.check_needs_rehash(_DUMMY_HASH):
        return hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


# ---------------------------------------------------------------- database


def write_roles(con: duckdb.DuckDBPyConnection, roles: Mapping[str, Role]) -> None:
    """Replace the ``roles`` table with ``roles`` (takes a connection; caller owns the transaction).

    Refuses to drop a role that a user still has.
    """
    if not roles:
        raise InputError("no roles given; pass read_roles(roles_path(settings))")
    in_use = con.execute("SELECT DISTINCT role FROM users ORDER BY role").fetchall()
    dropped = [r for (r,) in in_use if r not in roles]
    if dropped:
        raise InputError(f"users still have roles {dropped} that the new roles table lacks; "
                         "keep those rows in roles.csv or give those users another role first")
    con.execute("DELETE FROM roles")
    con.executemany(
        "INSERT INTO roles (role, name_zh, name_en, all_grids, personal_data, exact_address, pages, description) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(r.role, r.name_zh, r.name_en, r.all_grids, r.personal_data, r.exact_address,
          _PAGE_SEP.join(r.pages), r.description or None) for r in roles.values()])


def add_user(
    con: duckdb.DuckDBPyConnection,
    username: str,
    password: str,
    role: str,
    *,
    display_name: str | None = None,
    manager_id: str | None = None,
    is_demo: bool = False,
    replace: bool = False,
) -> None:
    """Add an active user (takes a connection; caller owns the transaction).

    A role limited to its own grids (``all_grids`` false, i.e. grid_manager) needs
    a ``manager_id`` present in ``managers``. All problems are reported in one InputError.
    """
    problems = _username_problems(username) + _password_problems(username, password)
    problems += _role_problems(con, role, manager_id)
    if not replace and _user_exists(con, username):
        problems.append(f"user {username!r} exists; pass replace=True to overwrite it, or use set_password")
    if problems:
        raise InputError(f"cannot add user {username!r}: " + "; ".join(problems))
    con.execute(
        "INSERT INTO users (username, display_name, role, manager_id, password_hash, active, is_demo, created_at) "
        "VALUES (?, ?, ?, ?, ?, true, ?, ?) ON CONFLICT (username) DO UPDATE SET "
        "display_name = excluded.display_name, role = excluded.role, manager_id = excluded.manager_id, "
        "password_hash = excluded.password_hash, active = true, is_demo = excluded.is_demo, "
        "created_at = excluded.created_at",
        [username, display_name, role, manager_id, hash_password(password), is_demo, datetime.now(timezone.utc)])


def _username_problems(username: str) -> list[str]:
    if not username or any(ch.isspace() for ch in username) or not username.isprintable():
        return [f"username {username!r} must be non-empty, without spaces or control characters"]
    return []


def _role_problems(con: duckdb.DuckDBPyConnection, role: str, manager_id: str | None) -> list[str]:
    roles = dict(con.execute("SELECT role, all_grids FROM roles ORDER BY role").fetchall())
    if role not in roles:
        return [f"unknown role {role!r}; roles are {list(roles)}"
                + ("" if roles else " (the roles table is empty: run write_roles first)")]
    if manager_id is None:
        return [] if roles[role] else [f"role {role!r} sees only its own grids and needs a manager_id"]
    found = con.execute("SELECT count(*) FROM managers WHERE manager_id = ?", [manager_id]).fetchone()[0]
    return [] if found else [f"manager_id {manager_id!r} is not in the managers table; load the managers first"]


def _user_exists(con: duckdb.DuckDBPyConnection, username: str) -> bool:
    return con.execute("SELECT count(*) FROM users WHERE username = ?", [username]).fetchone()[0] > 0


def _require_user(con: duckdb.DuckDBPyConnection, username: str) -> None:
    if not _user_exists(con, username):
        raise InputError(f"no user {username!r}; check the spelling or add the user with add_user")


def set_password(con: duckdb.DuckDBPyConnection, username: str, password: str) -> None:
    """Give ``username`` a new password (takes a connection; caller owns the transaction)."""
    _require_user(con, username)
    check_password_policy(username, password)
    con.execute("UPDATE users SET password_hash = ? WHERE username = ?", [hash_password(password), username])


def deactivate_user(con: duckdb.DuckDBPyConnection, username: str) -> None:
    """Stop ``username`` signing in; the row stays for the record (takes a connection)."""
    _require_user(con, username)
    con.execute("UPDATE users SET active = false WHERE username = ?", [username])


def viewer_for(con: duckdb.DuckDBPyConnection, username: str) -> Viewer:
    """The :class:`Viewer` of an active user (takes a connection); AccessError otherwise."""
    row = con.execute(
        "SELECT u.display_name, u.role, u.manager_id, u.active, r.all_grids, r.personal_data, "
        "r.exact_address, r.pages FROM users u LEFT JOIN roles r ON r.role = u.role WHERE u.username = ?",
        [username]).fetchone()
    if row is None:
        raise AccessError(f"no user {username!r}; ask an administrator to create the account")
    display_name, role, manager_id, active, all_grids, personal_data, exact_address, pages = row
    if not active:
        raise AccessError(f"user {username!r} is deactivated; ask an administrator to reactivate it")
    if all_grids is None:
        raise AccessError(f"user {username!r} has role {role!r}, which the roles table lacks; "
                          "load roles.csv with write_roles or give the user another role")
    grid_ids = None if all_grids else _manager_grid_ids(con, manager_id)
    return Viewer(username=username, role=role, display_name=display_name, grid_ids=grid_ids,
                  manager_id=manager_id, personal_data=personal_data, exact_address=exact_address,
                  pages=_split_pages(pages))


def _manager_grid_ids(con: duckdb.DuckDBPyConnection, manager_id: str | None) -> frozenset[str]:
    if manager_id is None:
        return frozenset()
    rows = con.execute("SELECT grid_id FROM manager_grids WHERE manager_id = ?", [manager_id]).fetchall()
    return frozenset(grid_id for (grid_id,) in rows)


def authenticate(con: duckdb.DuckDBPyConnection, username: str, password: str) -> Viewer | None:
    """The user's :class:`Viewer` if the password is right and the user active, else None.

    Takes a connection. An unknown username still costs one argon2 verification, so
    timing does not reveal which usernames exist. A hash made with older argon2
    costs is replaced when the connection is writable.
    """
    row = con.execute("SELECT password_hash, active FROM users WHERE username = ?", [username]).fetchone()
    if row is None:
        verify_password(_dummy_hash(), password)
        return None
    stored, active = row
    if not verify_password(stored, password) or not active:
        log.info("sign-in refused for user %r", username)
        return None
    if _HASHER.check_needs_rehash(stored) and _writable(con):
        con.execute("UPDATE users SET password_hash = ? WHERE username = ?", [hash_password(password), username])
    return viewer_for(con, username)


def _writable(con: duckdb.DuckDBPyConnection) -> bool:
    """False for a read-only connection (checked first: a failed UPDATE would abort the caller's transaction)."""
    return not con.execute(
        "SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]


def create_demo_users(con: duckdb.DuckDBPyConnection, *, password: str = "demo-password") -> list[str]:
    """One demo user per role, replacing earlier ones (takes a connection); returns their usernames.

    ``demo_manager`` is tied to the smallest manager_id with a grid in
    ``manager_grids``; without one it is skipped with a warning.
    """
    names_zh = dict(con.execute("SELECT role, name_zh FROM roles").fetchall())
    manager_id = con.execute(
        "SELECT min(g.manager_id) FROM manager_grids g JOIN managers m ON m.manager_id = g.manager_id").fetchone()[0]
    users = [(name, role, None) for name, role in _DEMO_USERS]
    if manager_id is None:
        log.warning("no manager has a grid in manager_grids; %s not created (load managers and grids first)",
                    _DEMO_MANAGER[0])
    else:
        users.append((*_DEMO_MANAGER, manager_id))
    for username, role, manager in users:
        add_user(con, username, password, role, display_name=f"演示{names_zh.get(role, role)} (demo)",
                 manager_id=manager, is_demo=True, replace=True)
    return [username for username, _, _ in users]
