# Two commands on a fresh machine: `make run` opens the app on the demo dataset, `make test` runs
# ruff and the whole suite headless. Both create .venv on first use (`make setup`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: setup
	$(BIN)/python main.py $(ARGS)

lint: setup
	$(BIN)/ruff check .

test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

bench: setup
	for f in benchmarks/bench_*.py; do echo "== $$f" >&2; QT_QPA_PLATFORM=offscreen $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV)
