SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SNAPSHOT_DIR ?= ../shared/snapshot
DB ?= data/kb.db
PORT ?= 8001
STAMP := $(VENV)/.installed

.PHONY: help install build serve test crawl bench publish clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: unpinned, sentence-transformers pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the pinned dependencies (idempotent)

build: install ## build $(DB) from the recorded snapshot in $(SNAPSHOT_DIR)
	$(BIN)/kb build --snapshot-dir $(SNAPSHOT_DIR) --db $(DB)

serve: build ## build, then serve Datasette on 127.0.0.1:$(PORT)
	$(BIN)/kb serve --db $(DB) --port $(PORT)

test: install ## run the test suite (no network)
	$(BIN)/pytest -q

crawl: install ## live crawl (needs internet): record fresh exports into data/snapshot/, then build from them
	$(BIN)/kb crawl --out data/snapshot
	$(BIN)/kb build --snapshot-dir data/snapshot --db $(DB)

bench: build ## run the benchmarks, print figures, save them under bench/results/
	$(BIN)/python -m bench --db $(DB)

clean: ## remove the venv, built database and raw crawl output
	rm -rf $(VENV) data/kb.db data/raw data/cache
