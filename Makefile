# The README's commands. `make run` needs nothing but Python 3.11+; `make test` also expects the
# binaries that .ci/run installs (postgresql, redis-server, chromium).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint fuzz install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensureadmin
	exec $(BIN)/python manage.py runplatform

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Every operation of /api/schema/ fuzzed at length (every schemathesis phase, thousands of cases
# per surface) against a real server; the suite runs the same test with a small budget.
fuzz: install-dev
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-300} FUZZ_PHASES=examples,coverage,fuzzing,stateful FUZZ_TIMEOUT=0 \
		$(BIN)/python -m pytest tests/e2e/test_fuzz.py -p no:cacheprovider -s $(PYTEST_ARGS)

# ruff, then the arrows between the apps (import-linter contracts in pyproject.toml).
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo

clean:
	rm -rf $(VENV)
