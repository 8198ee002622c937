# Wanqing: `make up` runs the platform locally, `make test` runs every test. Only python3 is needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test up lint bench clean

install: $(STAMP)

# Reinstalls only when pyproject.toml changed since the last install (or the venv is new).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

up: install
	$(BIN)/wanqing up

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: install
	$(BIN)/wanqing bench store

clean:
	rm -rf $(STAMP) .pytest_cache .ruff_cache .mypy_cache
