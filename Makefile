# Two commands set up everything on a fresh machine:
#   make run   - create/reuse .venv, install pinned dependencies, start the app on http://localhost:8501
#   make test  - create/reuse .venv, install pinned dependencies, run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DB     ?= geodata/grid.duckdb
PORT   ?= 8501

.PHONY: setup run test bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

run: setup
	@test -f $(DB) || { echo "no database at $(DB) yet: building the synthetic demo city into it (grid demo; load your own data with 'grid ingest ...')"; \
	  $(BIN)/grid --db $(DB) demo; }
	@echo "grid app on http://localhost:$(PORT)  (database $(DB); Ctrl-C to stop)"
	GRID_DB=$(DB) $(BIN)/streamlit run app.py --server.headless true --server.port $(PORT)

test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) .pytest_cache test-output
