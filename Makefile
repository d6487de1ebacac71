# Two commands set up everything on a fresh machine:
#   make run   - create/reuse .venv, install pinned dependencies and Leaflet (static/vendor),
#                start the app on http://localhost:8501
#   make test  - the same set-up plus Debian's chromium and fonts for the browser test, then the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DB     ?= geodata/grid.duckdb
PORT   ?= 8501

# Leaflet is served by Streamlit from static/ (enableStaticServing), never from a CDN. It comes
# from the npm registry at set-up time and is git-ignored. The integrity is the registry's sha512.
LEAFLET_VERSION   := 1.9.4
LEAFLET_INTEGRITY := sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==
VENDOR := static/vendor
LEAFLET_STAMP := $(VENDOR)/leaflet-$(LEAFLET_VERSION).stamp

.PHONY: setup run test browser bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

$(LEAFLET_STAMP):
	sh scripts/fetch_leaflet.sh $(LEAFLET_VERSION) $(LEAFLET_INTEGRITY) $(VENDOR)/leaflet
	@rm -f $(VENDOR)/*.stamp && touch $(LEAFLET_STAMP)

setup: $(STAMP) $(LEAFLET_STAMP)

run: setup
	@test -f $(DB) || { echo "no database at $(DB) yet: building the synthetic demo city into it (grid demo; load your own data with 'grid ingest ...')"; \
	  $(BIN)/grid --db $(DB) demo; }
	@echo "grid app on http://localhost:$(PORT)  (database $(DB); Ctrl-C to stop)"
	GRID_DB=$(DB) $(BIN)/streamlit run app.py --server.headless true --server.port $(PORT)

# Debian's chromium and CJK/emoji fonts for tests/test_browser.py; never fails: without them
# (no root, no apt) the browser test skips and says why. Never `playwright install`.
browser:
	@sh scripts/ensure_chromium.sh

test: setup browser
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) .pytest_cache test-output $(VENDOR)
