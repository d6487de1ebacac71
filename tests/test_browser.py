"""The app in a real browser: ``streamlit run app.py`` on the demo city, opened in
Debian's headless Chromium driven by Playwright.

Every page is opened; on map pages the test waits for the Leaflet map inside the
streamlit-folium iframe and its vector paths (never a fixed sleep); on the
coverage page it switches the facility category and waits for the map to be
drawn again. No console error, no page error, and no request to any host but
the local server are allowed: Leaflet comes from the app's own ``/app/static/``.
A full-page screenshot of each page is saved under ``test-output/browser/``; the
coverage page after the category switch is also copied to
``docs/screenshots/coverage.png`` for the README.

Set-up: ``make test`` runs ``scripts/ensure_chromium.sh`` (apt-get install
chromium and its fonts when missing and root); so does this module when
/usr/bin/chromium is missing. Where Chromium cannot be installed the tests skip
and say why. Playwright never downloads a browser here (no ``playwright install``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]
ENSURE_CHROMIUM = PROJECT_ROOT / "scripts" / "ensure_chromium.sh"
OUTPUT = PROJECT_ROOT / "test-output" / "browser"
README_SCREENSHOT = PROJECT_ROOT / "docs" / "screenshots" / "coverage.png"
MY_GRID_SCREENSHOT = PROJECT_ROOT / "docs" / "screenshots" / "my_grid.png"

PAGES = ("home", "coverage", "community", "whatif", "data", "my_grid", "complaints", "workload")
"""url_path of every page of app.py (st.navigation), all open to the demo administrator."""
MAP_PAGES = ("coverage", "community", "whatif", "my_grid", "complaints", "workload")
"""Pages that show a folium map."""
CATEGORY_KEY = "coverage_category"
"""Key of the coverage page's facility-category selectbox."""

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
SCRIPT_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
TIMEOUT_MS = 60_000


# --------------------------------------------------------------------------- set-up


def _chromium() -> Path:
    """Debian's Chromium, installed by scripts/ensure_chromium.sh if missing; else skip with the reason."""
    if not CHROMIUM.exists() and ENSURE_CHROMIUM.exists():
        subprocess.run(["sh", str(ENSURE_CHROMIUM)], check=False, timeout=900)
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing and could not be installed here (scripts/ensure_chromium.sh needs root "
                    "and apt-get: apt-get install chromium fonts-noto-cjk fonts-noto-color-emoji)")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, proc: subprocess.Popen, log: Path) -> None:
    """Poll Streamlit's health endpoint until it answers (the server's start-up, not the page)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise AssertionError(f"streamlit did not answer at {url} within 120 s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def server(demo_db) -> Iterator[str]:
    """``streamlit run app.py`` on the demo database; yields the base URL."""
    settings, _ = demo_db
    OUTPUT.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {**os.environ, "GRID_DB": str(settings.db_path), "GRID_HASH_KEY_FILE": str(settings.hash_key_path),
           "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    log = OUTPUT / "streamlit.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                                 "--server.port", str(port), "--server.address", "127.0.0.1",
                                 "--browser.gatherUsageStats", "false"],
                                cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Watch:
    """What went wrong in a browser context: console errors, page errors, off-host requests."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)
    local_requests: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.remote_requests == [], f"requests left the machine: {self.remote_requests}"
        assert self.page_errors == [], f"page errors: {self.page_errors}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or (parts.hostname or "") in LOCAL_HOSTS


@pytest.fixture
def page(browser) -> Iterator[tuple[object, Watch]]:
    """A fresh page whose off-host requests are recorded and refused, and whose errors are collected."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    watch = Watch()

    def route(route_request) -> None:
        if _is_local(route_request.request.url):
            route_request.continue_()
        else:
            watch.remote_requests.append(route_request.request.url)
            route_request.abort()

    context.route("**/*", route)
    context.on("request", lambda r: watch.local_requests.append(r.url) if _is_local(r.url)
               else None if r.url in watch.remote_requests else watch.remote_requests.append(r.url))
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    tab.on("console", lambda m: watch.console_errors.append(f"{m.text} @ {m.location}") if m.type == "error" else None)
    tab.on("pageerror", lambda e: watch.page_errors.append(str(e)))
    try:
        yield tab, watch
    finally:
        context.close()


# --------------------------------------------------------------------------- helpers


def _log_in(tab, server: str, role: str) -> str:
    """Open the app at its root (the login page: the demo has users) and click the one-click
    demo login of ``role``; return the heading of the page it lands on."""
    tab.goto(server)
    tab.wait_for_selector(SCRIPT_DONE)
    login = tab.wait_for_selector('[data-testid="stMain"] h1').inner_text()
    tab.locator(f".st-key-demo_login_{role} button").click()
    tab.wait_for_function("""([selector, before]) => {
        const h1 = document.querySelector('[data-testid="stMain"] h1');
        return document.querySelector(selector) !== null && h1 !== null && h1.innerText !== before;
    }""", arg=[SCRIPT_DONE, login])
    return tab.wait_for_selector('[data-testid="stMain"] h1').inner_text()


def _open(tab, server: str, name: str, *, role: str = "admin") -> None:
    """Log in as the demo ``role``, then open page ``name`` from the sidebar as a user would, and
    wait until that page's script has run. (Opening ``/name`` directly makes Streamlit's frontend
    probe ``/name/_stcore/...`` first, which logs 404s to the console.)"""
    heading = _log_in(tab, server, role)
    if name == "home":
        return
    link = tab.locator(f'[data-testid="stSidebarNav"] a[href$="/{name}"]')
    assert link.count() == 1, f"no page {name!r} in the sidebar of app.py"
    link.click()
    tab.wait_for_url(f"**/{name}")
    tab.wait_for_function("""([selector, before]) => {
        const h1 = document.querySelector('[data-testid="stMain"] h1');
        return document.querySelector(selector) !== null && h1 !== null && h1.innerText !== before;
    }""", arg=[SCRIPT_DONE, heading])


def _map_frame(tab, *, after=None):
    """The streamlit-folium iframe once Leaflet has drawn vector paths in it (``after``: a frame element
    that must have been replaced first)."""
    if after is not None:
        tab.wait_for_function("el => !el.isConnected", arg=after)
    element = tab.wait_for_selector(MAP_FRAME)
    frame = element.content_frame()
    frame.wait_for_selector(".leaflet-container")
    frame.wait_for_selector("path.leaflet-interactive", state="attached")
    return element, frame


def _screenshot(tab, name: str) -> Path:
    """The whole page: Streamlit scrolls inside its main section, so the viewport is made as tall as it first."""
    height = tab.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    size = tab.viewport_size
    tab.set_viewport_size({"width": size["width"], "height": max(size["height"], int(height))})
    path = OUTPUT / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    tab.set_viewport_size(size)
    return path


# --------------------------------------------------------------------------- tests


def test_local_leaflet_is_served(server) -> None:
    for name, kind in (("leaflet.js", "javascript"), ("leaflet.css", "text/css")):
        url = f"{server}/app/static/vendor/leaflet/{name}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200 and kind in response.headers["Content-Type"], url
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{url}: {exc.code}; the local Leaflet is missing: run `make setup` "
                                 "(npm pack leaflet into static/vendor/leaflet)") from exc


@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_page_renders_without_errors(server, page, name: str) -> None:
    tab, watch = page
    _open(tab, server, name)
    if name in MAP_PAGES:
        _, frame = _map_frame(tab)
        assert frame.locator("path.leaflet-interactive").count() > 0
        assert frame.locator(".grid-legend").count() == 1
        assert any(url.endswith("/app/static/vendor/leaflet/leaflet.js") for url in watch.local_requests)
    shot = _screenshot(tab, name)
    watch.assert_clean()
    assert shot.stat().st_size > 10_000


@pytest.mark.slow
def test_coverage_category_switch_redraws_the_map(server, page) -> None:
    tab, watch = page
    _open(tab, server, "coverage")
    before, frame = _map_frame(tab)
    box = tab.locator(f".st-key-{CATEGORY_KEY} [role='combobox']")
    current = box.input_value()
    box.click()
    options = tab.locator("[role='option']")
    options.first.wait_for()
    choice = next(t.strip() for t in options.all_inner_texts() if t.strip() and t.strip() != current)
    options.filter(has_text=choice).first.click()
    _, frame = _map_frame(tab, after=before)
    tab.wait_for_selector(SCRIPT_DONE)
    assert frame.locator("path.leaflet-interactive").count() > 0
    shot = _screenshot(tab, "coverage-switched")
    watch.assert_clean()
    README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, README_SCREENSHOT)  # the README's picture: one facility category, coloured by minutes


@pytest.mark.slow
def test_grid_manager_sees_only_my_grid(server, page) -> None:
    """Logged in as the demo grid manager: only Overview and My grid in the sidebar, the map of
    their grid with its complaints; the screenshot goes into the README."""
    tab, watch = page
    heading = _log_in(tab, server, "grid_manager")
    assert heading in ("我的网格", "My grid")
    links = tab.locator('[data-testid="stSidebarNav"] a')
    assert sorted(links.nth(i).inner_text().strip() for i in range(links.count())) == sorted(["我的网格", "概览"])
    _, frame = _map_frame(tab)
    assert frame.locator(".grid-legend").count() == 1
    assert frame.locator("path.leaflet-interactive").count() > 0
    shot = _screenshot(tab, "my_grid-grid_manager")
    watch.assert_clean()
    MY_GRID_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, MY_GRID_SCREENSHOT)
