# The README's two commands: `make demo` (a full paper trading day) and `make test`.
# Works on a fresh Linux/macOS machine with Python >= 3.11 and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint install workbook bench reliability renders charts clean nyse-table

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/xlexec demo --dir demo

# on a weekend or holiday the suite runs with the clock shifted back to the last NYSE session
# (tools/on_a_session.py: the broker tests need a session, and real brokers refuse a pinned clock);
# --dist loadgroup: each module of ONE_WORKER_MODULES (tests/conftest.py) runs whole on one worker,
# its module fixtures built once
test: $(STAMP)
	XLWINGS_LICENSE_KEY=noncommercial $(BIN)/python tools/on_a_session.py -- $(BIN)/python -m pytest -q -p no:cacheprovider -n auto --dist loadgroup

# ruff (lint and format check) and mypy, configured in pyproject.toml; not yet part of `make test`.
lint: $(STAMP)
	$(BIN)/ruff check xlexec tests bench docs
	$(BIN)/ruff format --check xlexec tests bench docs
	$(BIN)/mypy xlexec

workbook: $(STAMP)
	$(BIN)/xlexec workbook build

bench: $(STAMP)
	$(BIN)/python -m bench

# xlexec/core/nyse_table.py (the NYSE sessions as data), after exchange_calendars is upgraded
nyse-table: $(STAMP)
	$(BIN)/python tools/nyse_table.py

# docs/workbook_<tab>.png for every tab of the demo day's workbook (needs LibreOffice and poppler-utils)
renders: $(STAMP)
	XLWINGS_LICENSE_KEY=noncommercial $(BIN)/python docs/render_tabs.py

# docs/img/tca_*.png and docs/img/monthly_*.png: the charts the demo's TCA and Monthly steps write
charts: $(STAMP)
	XLWINGS_LICENSE_KEY=noncommercial $(BIN)/python docs/render_charts.py

reliability: $(STAMP)
	XLWINGS_LICENSE_KEY=noncommercial $(BIN)/python tests/reliability/report.py

clean:
	rm -rf $(VENV) demo build dist *.egg-info .mypy_cache .ruff_cache
