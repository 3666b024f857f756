# One set of commands for README, CI and developers. Every target sets itself up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install rbldnsd test lint bench demo clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

rbldnsd:
	@scripts/ensure-rbldnsd

test: $(STAMP) rbldnsd
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP) rbldnsd
	$(BIN)/python -m bench.dnsbl_bench

demo: $(STAMP)
	$(BIN)/python -m senderwatch.testing.demo

clean:
	rm -rf $(VENV) .venv-* .pytest_cache .ruff_cache build *.egg-info
