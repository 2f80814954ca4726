# Two commands set everything up: `make demo` and `make test`. Both create .venv if needed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck pytest demo vectors bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	mkdir -p .mypy_path/coopfed
	ln -sfn ../../protocol .mypy_path/coopfed/protocol
	ln -sfn ../../node .mypy_path/coopfed/node
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check protocol node tests spec bench
	$(BIN)/ruff check --config protocol/ruff.toml protocol

typecheck: $(STAMP)
	$(BIN)/mypy -p coopfed.protocol -p coopfed.node

pytest: $(STAMP)
	$(BIN)/python -bb -m pytest $(PYTEST_ARGS)

# The whole suite: lint, types, and every test on SQLite and PostgreSQL.
test: lint typecheck pytest

vectors: $(STAMP)
	$(BIN)/python spec/vectors/generate.py

demo: $(STAMP)
	$(BIN)/python -m coopfed.node.demo

clean:
	rm -rf $(VENV) .mypy_path .mypy_cache .pytest_cache .ruff_cache
