"""grid works without a network: the spatial extension comes from its wheel, nothing is
downloaded, no socket leaves the machine.

A child process creates a database (LOADing spatial from the wheel file), runs a spatial
function, ingests facilities (CSV) and boundaries (GeoJSON) and lists the loaded
extensions. It runs (1) in a network namespace without any network and (2) with every
proxy variable pointing at a closed local port, a fresh HOME (no cached
``~/.duckdb/extensions``) and a Python audit hook that raises on any connection or
name lookup to a non-loopback host.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HOOK = r'''
import ipaddress, json, sys

blocked = []

def _is_loopback(host):
    host = host.decode() if isinstance(host, bytes) else host
    if host in (None, "", "localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

def _no_network(event, args):
    if event == "socket.connect":
        address = args[1]
        host = address[0] if isinstance(address, tuple) else None  # AF_UNIX paths are local
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr"):
        host = args[0]
    else:
        return
    if not _is_loopback(host):
        blocked.append(f"{event} {host!r}")
        raise ConnectionRefusedError(f"test_offline: {event} to {host!r} is not allowed")

sys.addaudithook(_no_network)
'''

CHILD = HOOK + r'''
from pathlib import Path
from grid.ingest import ingest_file
from grid.settings import get_settings
from grid.store import open_reader, write_session

work = Path(sys.argv[1])
settings = get_settings()
with write_session(settings.db_path, h3_res=settings.h3_res) as con:
    area = con.execute("SELECT ST_Area(ST_GeomFromText('POLYGON ((0 0, 3 0, 3 2, 0 2, 0 0))'))").fetchone()[0]
facilities = ingest_file("facilities", work / "facilities.csv", settings=settings)
boundaries = ingest_file("boundaries", work / "boundaries.geojson", settings=settings)
con = open_reader(settings.db_path)
spatial = con.execute("SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'spatial'").fetchone()[0]
remote = [r[0] for r in con.execute("SELECT extension_name FROM duckdb_extensions() "
                                   "WHERE loaded AND extension_name IN ('httpfs', 'aws', 'azure')").fetchall()]
counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("facilities", "communities", "cells")}
community_m2 = con.execute("SELECT round(sum(area_m2)) FROM communities").fetchone()[0]
con.close()
print(json.dumps({"area": area, "facilities_ok": facilities.rows_ok, "boundaries_ok": boundaries.rows_ok,
                  "counts": counts, "community_m2": community_m2, "spatial_loaded": spatial,
                  "remote_extensions": remote, "blocked": blocked}))
'''

FACILITIES_CSV = """facility_id,name,category,lon,lat
F1,江汉区实验幼儿园,幼儿园,114.2701,30.5812
F2,江岸区育才小学,小学,114.2998,30.5987
F3,武昌民生大药房,药店,114.3333,30.5444
"""


def _cell_m2(dlon_deg: float, lat1_deg: float, lat2_deg: float) -> float:
    """Area (m²) of a lon/lat rectangle on the authalic sphere: R² Δλ (sin φ2 − sin φ1)."""
    radius_m = 6_371_007.2
    return radius_m ** 2 * math.radians(dlon_deg) * (math.sin(math.radians(lat2_deg)) - math.sin(math.radians(lat1_deg)))


def _square(x0: float, y0: float, d: float = 0.002) -> list[list[list[float]]]:
    return [[[x0, y0], [x0 + d, y0], [x0 + d, y0 + d], [x0, y0 + d], [x0, y0]]]


def _boundaries_geojson() -> str:
    features = [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": _square(x0, 30.50)},
                 "properties": {"community_id": cid, "name": name, "population": 5000, "households": 2000}}
                for cid, name, x0 in (("K1", "花桥社区", 114.30), ("K2", "球场社区", 114.31))]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def _child_files(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    (work / "child.py").write_text(CHILD, encoding="utf-8")
    (work / "facilities.csv").write_text(FACILITIES_CSV, encoding="utf-8")
    (work / "boundaries.geojson").write_text(_boundaries_geojson(), encoding="utf-8")
    return work


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """Only what the child needs: fresh HOME and config folders, its own database and key."""
    home, config = tmp_path / "home", tmp_path / "xdg-config"
    home.mkdir()
    config.mkdir()
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": str(home),
            "XDG_CONFIG_HOME": str(config), "GRID_DB": str(tmp_path / "offline.duckdb"),
            "GRID_HASH_KEY_FILE": str(config / "grid" / "hash.key"), "PYTHONDONTWRITEBYTECODE": "1"}


def _run_child(prefix: list[str], env: dict[str, str], work: Path) -> dict[str, object]:
    result = subprocess.run([*prefix, sys.executable, str(work / "child.py"), str(work)], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _assert_figures(figures: dict[str, object]) -> None:
    assert figures["area"] == 6.0
    assert (figures["facilities_ok"], figures["boundaries_ok"]) == (3, 2)
    assert figures["counts"]["facilities"] == 3 and figures["counts"]["communities"] == 2
    assert figures["counts"]["cells"] > 0
    assert figures["community_m2"] == pytest.approx(2 * _cell_m2(0.002, 30.50, 30.502), rel=5e-3)
    assert figures["spatial_loaded"] is True
    assert figures["remote_extensions"] == []
    assert figures["blocked"] == []


def _unshare_prefix() -> list[str]:
    """A command prefix that runs its command without network, or skip with the reason."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is not installed, so no network namespace can be made here")
    reasons = []
    for prefix in ([unshare, "--net"], [unshare, "--net", "--map-root-user"]):
        probe = subprocess.run([*prefix, "true"], capture_output=True, text=True, timeout=60)
        if probe.returncode == 0:
            return prefix
        reasons.append(f"`{' '.join(prefix[1:])}`: {probe.stderr.strip()}")
    pytest.skip("cannot create a network namespace here (needs root or unprivileged user namespaces): "
                + "; ".join(reasons))


def test_audit_hook_refuses_remote_hosts_and_allows_loopback(tmp_path: Path) -> None:
    """The guard itself: a remote connection raises, a loopback one reaches the socket layer."""
    code = HOOK + r'''
import socket

def raw_connect(host):
    with socket.socket() as sock:
        sock.settimeout(2)
        sock.connect((host, 9))

outcomes = []
for attempt, host in ((raw_connect, "192.0.2.1"), (socket.create_connection, "example.com"),
                      (raw_connect, "127.0.0.1")):
    try:
        attempt((host, 9)) if attempt is socket.create_connection else attempt(host)
        outcomes.append("connected")
    except OSError as exc:
        outcomes.append(type(exc).__name__ + (" (hook)" if "test_offline" in str(exc) else ""))
print(json.dumps({"outcomes": outcomes, "blocked": blocked}))
'''
    result = subprocess.run([sys.executable, "-c", code], env=_clean_env(tmp_path), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["outcomes"] == ["ConnectionRefusedError (hook)", "ConnectionRefusedError (hook)",
                                   "ConnectionRefusedError"]
    assert figures["blocked"] == ["socket.connect '192.0.2.1'", "socket.getaddrinfo 'example.com'"]


def test_no_network_namespace(tmp_path: Path) -> None:
    prefix = _unshare_prefix()
    probe = subprocess.run([*prefix, sys.executable, "-c",
                            "import socket; s = socket.socket(); s.settimeout(5); print(s.connect_ex(('192.0.2.1', 80)))"],
                           capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() in ("101", "113"), probe  # ENETUNREACH / EHOSTUNREACH: really no network
    figures = _run_child(prefix, _clean_env(tmp_path), _child_files(tmp_path))
    _assert_figures(figures)


def test_dead_proxies_fresh_home_and_audit_hook(tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    dead = "http://127.0.0.1:9"
    env.update({name: dead for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                                        "all_proxy")})
    figures = _run_child([], env, _child_files(tmp_path))
    _assert_figures(figures)
    assert not (Path(env["HOME"]) / ".duckdb").exists()  # nothing installed or cached under HOME
