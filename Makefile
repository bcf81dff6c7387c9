# The two set-up commands of the README: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint format bench fuzz matrix services-up services-down clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/helios demo

# tests marked slow (whole Synthea loads and exports, every example round-tripped) run with
# `make test-slow`; PYTEST_ARGS="-m slow" or "-m ''" overrides the selection
test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" --durations=25 $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench fuzz dialects grammar
	$(BIN)/ruff format --check src tests bench fuzz dialects grammar
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests bench fuzz dialects grammar
	$(BIN)/ruff check --fix src tests bench fuzz dialects grammar

bench: $(STAMP)
	$(BIN)/python -m bench

# coverage-guided fuzzing of the parser and the compilers (atheris; 5 minutes each)
fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[fuzz]'
	$(BIN)/python fuzz/fuzz_parser.py -max_total_time=300
	$(BIN)/python fuzz/fuzz_compile.py -max_total_time=300

# the README's feature table, from the dialects' declared support and the suite's gaps
matrix: $(STAMP)
	$(BIN)/helios matrix

services-up:
	scripts/services up

services-down:
	scripts/services down

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
