"""pyproject.toml, constraints.txt and environment.yml pin the same versions."""

from __future__ import annotations

import re
import tomllib

import duckdb
import yaml

from conftest import PROJECT_ROOT

_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)\s*==?\s*([^\s;]+)$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(specs: list[str]) -> dict[str, str]:
    pins = {}
    for spec in specs:
        match = _PIN.match(spec.strip())
        assert match, f"not an exact pin: {spec!r}"
        pins[_norm(match.group(1))] = match.group(2)
    return pins


def _pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    return _pins(project["dependencies"] + project["optional-dependencies"]["dev"])


def _conda_pins() -> dict[str, str]:
    env = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str) and not d.startswith(("python=", "pip"))]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return _pins(conda + [p for p in pip if not p.startswith("-e")])


def test_environment_yml_pins_equal_pyproject() -> None:
    assert _conda_pins() == _pyproject_pins()


def test_constraints_pin_every_direct_dependency_at_the_same_version() -> None:
    lines = [l for l in (PROJECT_ROOT / "constraints.txt").read_text().splitlines() if l and not l.startswith("#")]
    constraints = _pins(lines)
    for name, version in _pyproject_pins().items():
        assert constraints.get(name) == version, f"{name}: pyproject {version}, constraints {constraints.get(name)}"


def test_duckdb_matches_its_spatial_extension_wheel() -> None:
    pins = _pyproject_pins()
    assert pins["duckdb"] == pins["duckdb-extension-spatial"] == duckdb.__version__
