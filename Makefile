SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SNAPSHOT_DIR ?= ../shared/snapshot
# The one place the snapshot folder is set: kb build and the tests (tests/conftest.py) read it from here.
export KB_SNAPSHOT_DIR := $(abspath $(SNAPSHOT_DIR))
DB ?= data/kb.db
PORT ?= 8001
STAMP := $(VENV)/.installed
RUFF := $(BIN)/ruff check . && $(BIN)/ruff format --check .
# The torch pin lives in pyproject.toml only.
TORCH := $(shell grep -o '"torch==[^"]*"' pyproject.toml | tr -d '"')

.PHONY: help install build serve test check lint crawl bench publish browser clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: unpinned, sentence-transformers pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet '$(TORCH)'
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the pinned dependencies (idempotent)

build: install ## build $(DB) from the recorded snapshot in $(SNAPSHOT_DIR)
	$(BIN)/kb build --db $(DB)

serve: build ## build, then serve Datasette on 127.0.0.1:$(PORT)
	$(BIN)/kb serve --db $(DB) --port $(PORT)

# Debian's chromium + chromedriver drive the browser tests (tests/browser/); nothing is downloaded by
# Playwright. Guarded: does nothing when both are already installed.
browser: node_modules/.installed ## install headless Chromium and axe-core for the browser tests (only when missing)
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
		echo "chromium: $$(chromium --version 2>/dev/null | head -1)"; \
	else \
		apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver; \
	fi

# axe-core, pinned in package-lock.json, which the accessibility tests inject into pages.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Two workers, a file's tests on one of them (its module fixtures, servers and browsers, start once), in the
# order tests/conftest.py gives: the full build, shared by both under a file lock, starts with the run and is
# made while the files that need none are tested. mypy (13 s of one core, cold) runs beside the tests and its
# verdict, printed after theirs, fails the target just the same. The 25 slowest tests are listed.
test: install browser ## lint, then the whole test suite (no network): what CI runs
	$(RUFF)
	$(BIN)/mypy > $(VENV)/mypy.out 2>&1 & mypy=$$!; status=0; \
	$(BIN)/pytest -q -n 2 --dist loadfile --no-loadscope-reorder --durations=25 || status=$$?; \
	wait $$mypy || status=1; cat $(VENV)/mypy.out; exit $$status

lint: install ## ruff (lint and format check) and mypy, configured in pyproject.toml
	$(RUFF)
	$(BIN)/mypy

check: install ## the fast tier: every test that needs no full build, server, browser or embedding model
	$(BIN)/pytest -q -n 2 -m "not build and not server and not browser and not model"

crawl: install ## live crawl (needs internet): record fresh exports into data/snapshot/, then build from them
	$(BIN)/kb crawl --out data/snapshot
	$(BIN)/kb build --snapshot-dir data/snapshot --db $(DB)

bench: build ## run the benchmarks, print figures, save them under bench/results/
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench --db $(DB)

publish: build ## write the deployable site bundle into dist/ (database, metadata, the project wheel, run.sh)
	$(BIN)/kb publish --db $(DB) --out dist

clean: ## remove the venv, built database and raw crawl output
	rm -rf $(VENV) data/kb.db data/raw data/cache dist node_modules
