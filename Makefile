# Switchboard — the two commands a newcomer needs:
#   make serve   install into .venv and run the server (SQLite + in-process bus)
#   make test    install everything the tests need (system packages too) and run them all
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test check lint typecheck bench install clean

$(BIN)/switchboard: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/switchboard

serve: install
	$(BIN)/switchboard serve

test:
	bash scripts/install-test-deps.sh
	$(BIN)/python -m pytest

lint: install
	$(BIN)/python -m ruff check server adapters tests bench
	$(BIN)/python -m ruff format --check server adapters tests bench

typecheck: install
	$(BIN)/python -m mypy

check: lint typecheck test

bench: install
	@echo "see bench/README.md for each benchmark's command"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
