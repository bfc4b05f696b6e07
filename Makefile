# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install tools run test lint format bench clean

$(STAMP): pyproject.toml standins/pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e ./standins
	@touch $(STAMP)

install: $(STAMP)

# promtool checks deploy/prometheus (tests/integration/test_ops_files.py); Debian's prometheus
# package ships it. A no-op when promtool is on PATH; installing needs root (or sudo).
tools:
	@command -v promtool >/dev/null 2>&1 || { \
	  command -v apt-get >/dev/null 2>&1 || { echo "promtool missing and no apt-get: install promtool by hand" >&2; exit 1; }; \
	  if [ "$$(id -u)" -eq 0 ]; then as_root=; \
	  elif command -v sudo >/dev/null 2>&1; then as_root=sudo; \
	  else echo "promtool missing: run 'make tools' as root" >&2; exit 1; fi; \
	  $$as_root apt-get update && \
	  $$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; \
	}

run: install
	$(BIN)/python -m standins.launcher

test: install tools
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

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
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
