# `make test` and `make seed-local` set up ./venv (the virtualenv Pulumi uses too) on first run.
PYTHON ?= python3
VENV := venv
BIN := $(VENV)/bin

.PHONY: test seed-local lint benchmark

$(BIN)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed; run make with PYTHON=python3.12 (or newer)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

seed-local: $(BIN)/.installed
	$(BIN)/python -m emulator

benchmark: $(BIN)/.installed
	$(BIN)/python -m benchmarks.seed_writer
	$(BIN)/python -m benchmarks.stream_event_requests
