# One entry point for every gate. `make check` is what CI runs (through .ci/run).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000

.PHONY: venv install browser demo serve test lint typecheck check bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# The main job on the embedded default: a SQLite club with demo data, served on :8000
# (PORT=8001 make demo for another port).
demo: install
	$(VENV)/bin/lojal demo --database-url sqlite:///lojal.db --serve --port $(PORT)

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: install
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy bench tests

# Debian's Chromium for the browser tests (tests/browser): installed when missing; a failed
# install fails the target (and so `make test`), it never skips.
browser:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)
	@test -x /usr/bin/chromium

test: install browser
	$(VENV)/bin/pytest -q -n 2

check: lint typecheck test

# The figures of docs/benchmarks.md (the 1M import: see bench/README.md; it takes ~35 minutes).
bench: install
	$(PY) -m bench.bench_import --purchases 100000 --backend both
	$(PY) -m bench.bench_api --duration 10 --repeat 3 --concurrency 1,8,32
	$(PY) -m bench.bench_coupons --repeat 3
	$(PY) -m bench.bench_challenges
	$(PY) -m bench.bench_enrol
	$(PY) -m bench.bench_pages

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
