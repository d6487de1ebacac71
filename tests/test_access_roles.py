"""Users, roles and access rules (grid.governance.access): argon2id hashes, sign-in, viewers'
grids from a hand-made manager roster, roles.csv validation, demo users."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from argon2 import PasswordHasher

from grid.errors import ConfigError, GridError, InputError
from grid.governance.access import (
    PAGES,
    AccessError,
    add_user,
    authenticate,
    create_demo_users,
    deactivate_user,
    hash_password,
    read_roles,
    roles_path,
    set_password,
    system_viewer,
    verify_password,
    viewer_for,
    write_roles,
)
from grid.settings import Settings
from grid.store import open_reader, write_session

PASSWORD = "Plaintext-Secret-42"
# Hand-made roster: m1 has two grids, m2 one, m3 none.
MANAGER_GRIDS = {"m1": ["g1", "g2"], "m2": ["g3"], "m3": []}
HEADER = "role,name_zh,name_en,all_grids,personal_data,exact_address,pages,description\n"
GOOD_ROW = "planner,规划人员,Planner,true,false,false,home|coverage,plans\n"


def _insert_roster(con: duckdb.DuckDBPyConnection, manager_grids: dict[str, list[str]]) -> None:
    for manager_id, grid_ids in manager_grids.items():
        con.execute("INSERT INTO managers (manager_id, name, source, load_id, row_hash) VALUES (?, ?, 'test', 0, ?)",
                    [manager_id, f"name {manager_id}", f"hash {manager_id}"])
        for grid_id in grid_ids:
            con.execute("INSERT INTO manager_grids (manager_id, grid_id) VALUES (?, ?)", [manager_id, grid_id])


@pytest.fixture
def db(settings: Settings) -> Path:
    """A fresh database with the shipped roles and the hand-made roster."""
    with write_session(settings.db_path) as con:
        write_roles(con, read_roles(roles_path(settings)))
        _insert_roster(con, MANAGER_GRIDS)
    return settings.db_path


@pytest.fixture
def con(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writer on ``db`` (committed at the end of the test)."""
    with write_session(db) as writer:
        yield writer


# ---------------------------------------------------------------- hashes


def test_hash_is_salted_argon2id_and_verifies() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("$argon2id$")
    assert PASSWORD not in first
    assert first != second  # a fresh random salt each time
    assert verify_password(first, PASSWORD) and verify_password(second, PASSWORD)
    assert not verify_password(first, PASSWORD + "x")


@pytest.mark.parametrize("bad", ["", "not a hash", "$argon2id$v=19$m=65536,t=3,p=4$abc"])
def test_verify_password_is_false_for_malformed_hashes(bad: str) -> None:
    assert verify_password(bad, PASSWORD) is False


def test_database_file_holds_the_hash_not_the_password(db: Path) -> None:
    with write_session(db) as con:
        add_user(con, "alice", PASSWORD, "planner")
    stored = open_reader(db, spatial=False)
    (password_hash,) = stored.execute("SELECT password_hash FROM users WHERE username = 'alice'").fetchone()
    stored.close()
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*") if p.is_file())
    assert password_hash.encode() in raw  # we read the file the hash is stored in ...
    assert PASSWORD.encode() not in raw  # ... and the plaintext is not there


def test_password_policy_is_enforced(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InputError, match=r"it has 7 characters; use at least 8"):
        add_user(con, "bob", "short12", "planner")
    with pytest.raises(InputError, match=r"it equals the username"):
        add_user(con, "longusername", "LongUsername", "planner")
    add_user(con, "bob", PASSWORD, "planner")
    with pytest.raises(InputError, match=r"it has 3 characters; use at least 8"):
        set_password(con, "bob", "abc")
    set_password(con, "bob", "another-password")
    assert authenticate(con, "bob", "another-password") is not None
    assert authenticate(con, "bob", PASSWORD) is None


# ---------------------------------------------------------------- sign-in and viewers


def test_authenticate_right_wrong_unknown_inactive(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "carol", PASSWORD, "planner", display_name="Carol")
    viewer = authenticate(con, "carol", PASSWORD)
    assert viewer is not None and (viewer.username, viewer.role, viewer.display_name) == ("carol", "planner", "Carol")
    assert authenticate(con, "carol", "wrong-password") is None
    assert authenticate(con, "nobody", PASSWORD) is None
    deactivate_user(con, "carol")
    assert authenticate(con, "carol", PASSWORD) is None


def test_planner_sees_every_grid_but_no_personal_data(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "pat", PASSWORD, "planner")
    viewer = authenticate(con, "pat", PASSWORD)
    assert viewer.grid_ids is None and viewer.can_see_grid("any-grid")
    assert (viewer.personal_data, viewer.exact_address) == (False, False)
    assert viewer.may_open("whatif") and not viewer.may_open("workload")
    with pytest.raises(InputError, match=r"unknown page key 'hom'; page keys are"):
        viewer.may_open("hom")


def test_grid_manager_sees_exactly_their_managers_grids(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "mia", PASSWORD, "grid_manager", manager_id="m1")
    add_user(con, "max", PASSWORD, "grid_manager", manager_id="m2")
    add_user(con, "nil", PASSWORD, "grid_manager", manager_id="m3")
    mia, max_, nil = (authenticate(con, u, PASSWORD) for u in ("mia", "max", "nil"))
    assert mia.grid_ids == frozenset({"g1", "g2"}) and mia.manager_id == "m1"
    assert mia.can_see_grid("g1") and mia.can_see_grid("g2") and not mia.can_see_grid("g3")
    assert max_.grid_ids == frozenset({"g3"}) and not max_.can_see_grid("g1")
    assert nil.grid_ids == frozenset() and not nil.can_see_grid("g1")  # empty, never None
    assert mia.pages == ("home", "my_grid") and (mia.personal_data, mia.exact_address) == (True, True)


def test_viewer_for_refuses_unknown_and_inactive_users(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "dan", PASSWORD, "analyst")
    assert viewer_for(con, "dan").role == "analyst"
    with pytest.raises(AccessError, match=r"no user 'ghost'; ask an administrator"):
        viewer_for(con, "ghost")
    deactivate_user(con, "dan")
    with pytest.raises(AccessError, match=r"user 'dan' is deactivated") as caught:
        viewer_for(con, "dan")
    assert isinstance(caught.value, PermissionError) and isinstance(caught.value, GridError)


def test_system_viewer_sees_everything() -> None:
    viewer = system_viewer()
    assert viewer.grid_ids is None and viewer.personal_data and viewer.exact_address
    assert all(viewer.may_open(page) for page in PAGES)


def test_add_user_reports_every_problem(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InputError, match=r"unknown role 'boss'; roles are \['admin', 'analyst', 'grid_manager', "
                                         r"'planner', 'supervisor'\]"):
        add_user(con, "eve", PASSWORD, "boss")
    with pytest.raises(InputError, match=r"role 'grid_manager' sees only its own grids and needs a manager_id"):
        add_user(con, "eve", PASSWORD, "grid_manager")
    with pytest.raises(InputError, match=r"manager_id 'm9' is not in the managers table"):
        add_user(con, "eve", PASSWORD, "grid_manager", manager_id="m9")
    with pytest.raises(InputError, match=r"it has 3 characters.*unknown role 'boss'"):
        add_user(con, "eve", "abc", "boss")
    add_user(con, "eve", PASSWORD, "planner")
    with pytest.raises(InputError, match=r"user 'eve' exists; pass replace=True"):
        add_user(con, "eve", PASSWORD, "analyst")
    add_user(con, "eve", "a-new-password", "analyst", replace=True)
    assert authenticate(con, "eve", "a-new-password").role == "analyst"
    assert authenticate(con, "eve", PASSWORD) is None


def test_unknown_users_cannot_be_changed(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InputError, match=r"no user 'ghost'; check the spelling"):
        set_password(con, "ghost", PASSWORD)
    with pytest.raises(InputError, match=r"no user 'ghost'; check the spelling"):
        deactivate_user(con, "ghost")


def test_old_hash_is_upgraded_only_on_a_writable_connection(db: Path) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with write_session(db) as con:
        add_user(con, "fay", PASSWORD, "planner")
        con.execute("UPDATE users SET password_hash = ? WHERE username = 'fay'", [weak])
    reader = open_reader(db, spatial=False)
    assert authenticate(reader, "fay", PASSWORD).username == "fay"
    assert reader.execute("SELECT password_hash FROM users WHERE username = 'fay'").fetchone()[0] == weak
    reader.close()
    with write_session(db) as con:
        assert authenticate(con, "fay", PASSWORD) is not None
        upgraded = con.execute("SELECT password_hash FROM users WHERE username = 'fay'").fetchone()[0]
    assert upgraded != weak and not PasswordHasher().check_needs_rehash(upgraded)
    assert verify_password(upgraded, PASSWORD)


# ---------------------------------------------------------------- roles.csv


def test_shipped_roles_load_with_the_agreed_rights(settings: Settings) -> None:
    roles = read_roles(roles_path(settings))
    expected = {  # role: (all_grids, personal_data, exact_address, pages)
        "admin": (True, True, True, PAGES),
        "planner": (True, False, False, ("home", "coverage", "community", "whatif", "data", "complaints")),
        "supervisor": (True, True, True, ("home", "coverage", "community", "complaints", "workload")),
        "grid_manager": (False, True, True, ("home", "my_grid")),
        "analyst": (True, False, False, ("coverage", "community", "complaints", "workload", "data")),
    }
    assert {r: (v.all_grids, v.personal_data, v.exact_address, v.pages) for r, v in roles.items()} == expected
    assert (roles["grid_manager"].name_zh, roles["planner"].name_zh) == ("网格员", "规划人员")


def test_read_roles_is_memoised_by_content(tmp_path: Path) -> None:
    path = tmp_path / "roles.csv"
    path.write_text(HEADER + GOOD_ROW, encoding="utf-8")
    assert read_roles(path)["planner"] is read_roles(path)["planner"]
    path.write_text(HEADER + GOOD_ROW.replace("home|coverage", "home"), encoding="utf-8")
    assert read_roles(path)["planner"].pages == ("home",)


@pytest.mark.parametrize(("rows", "message"), [
    (GOOD_ROW.replace("true,false,false", "yes,false,false"),
     r"line 2: all_grids must be true or false, saw 'yes'"),
    (GOOD_ROW.replace("home|coverage", "home|maps"), r"line 2: unknown page keys \['maps'\] in pages"),
    (GOOD_ROW + GOOD_ROW, r"line 3: duplicate role 'planner'; keep one row per role"),
    (GOOD_ROW.replace("planner,", "Planner X,", 1), r"line 2: role 'Planner X' must be lower-case"),
    (GOOD_ROW.replace(",plans", ""), r"line 2: has a different number of cells than the header"),
    ("", r"no roles; add one row per role"),
    # every problem of a row is reported at once
    (GOOD_ROW.replace("true,false,false,home|coverage", "1,false,no,"),
     r"3 problem\(s\): line 2: all_grids must be true or false, saw '1'; line 2: exact_address must be true "
     r"or false, saw 'no'; line 2: pages is empty"),
])
def test_read_roles_rejects_bad_rows(tmp_path: Path, rows: str, message: str) -> None:
    path = tmp_path / "roles.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        read_roles(path)


def test_read_roles_rejects_missing_columns_and_files(tmp_path: Path) -> None:
    path = tmp_path / "roles.csv"
    path.write_text(HEADER.replace(",exact_address", "") + "x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"lacks columns \['exact_address'\]"):
        read_roles(path)
    with pytest.raises(ConfigError, match=r"roles table .*nothing.csv not found"):
        read_roles(tmp_path / "nothing.csv")


def test_write_roles_keeps_roles_in_use(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    add_user(con, "gus", PASSWORD, "analyst")
    roles = read_roles(roles_path(settings))
    with pytest.raises(InputError, match=r"users still have roles \['analyst'\]"):
        write_roles(con, {r: v for r, v in roles.items() if r != "analyst"})
    write_roles(con, {r: v for r, v in roles.items() if r != "supervisor"})
    assert con.execute("SELECT count(*) FROM roles").fetchone()[0] == 4


# ---------------------------------------------------------------- demo users


def test_create_demo_users_one_per_role(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("INSERT INTO managers (manager_id, source, load_id, row_hash) VALUES ('m0', 'test', 0, 'h')")
    names = create_demo_users(con)  # m0 has no grid, so demo_manager gets m1
    assert names == ["demo_admin", "demo_planner", "demo_supervisor", "demo_analyst", "demo_manager"]
    rows = con.execute("SELECT username, role, manager_id, is_demo, active FROM users ORDER BY username").fetchall()
    assert rows == [("demo_admin", "admin", None, True, True), ("demo_analyst", "analyst", None, True, True),
                    ("demo_manager", "grid_manager", "m1", True, True),
                    ("demo_planner", "planner", None, True, True),
                    ("demo_supervisor", "supervisor", None, True, True)]
    assert authenticate(con, "demo_manager", "demo-password").grid_ids == frozenset({"g1", "g2"})
    assert create_demo_users(con) == names  # again: replaced, not refused


def test_create_demo_users_without_managers_skips_the_manager(
        settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with write_session(settings.db_path) as con, caplog.at_level(logging.WARNING, "grid.governance.access"):
        write_roles(con, read_roles(roles_path(settings)))
        assert create_demo_users(con) == ["demo_admin", "demo_planner", "demo_supervisor", "demo_analyst"]
    assert "no manager has a grid in manager_grids; demo_manager not created" in caplog.text
