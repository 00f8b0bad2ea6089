# lienthong: two commands do all the set-up — `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: install test lint types unit demo bench bench-edxml bench-schema bench-signature faults clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: install
	$(VENV)/bin/mypy

unit: install
	$(VENV)/bin/pytest tests -q

test: lint types unit

demo: install
	$(PY) scripts/demo.py $(ARGS)

bench: install
	$(PY) bench/bench_hub.py $(ARGS)

faults: install
	$(VENV)/bin/pytest tests/integration/faults -q

bench-edxml: install
	$(PY) bench/bench_edxml.py $(ARGS)

bench-schema: install
	$(PY) bench/bench_schema.py $(ARGS)

bench-signature: install
	$(PY) bench/bench_signature.py $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
