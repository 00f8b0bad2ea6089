# lienthong: two commands do all the set-up — `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
ARGS   ?=

.PHONY: install lock test lint types unit demo demo-edxml bench bench-edxml bench-schema bench-signature faults clean
.PHONY: browser balancer bench-console bench-hostile bench-startup bench-vxp fuzz multihost docs

install: $(STAMP)

# Exactly the versions of requirements.lock (hashes checked), then the project itself, built
# with the locked setuptools: a fresh clone gets what CI tested, whatever was released since.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@# Bytecode of the project's own code, ahead: where PYTHONDONTWRITEBYTECODE is set, every
	@# process would otherwise compile it again at each start (Python re-reads stale files).
	@$(PY) -m compileall -q -j 0 hub edxml adapters simulators >/dev/null
	@touch $(STAMP)

# Bring requirements.lock in step with pyproject.toml, keeping every pin that still fits;
# `make lock UPGRADE=1` resolves afresh to the newest releases: a deliberate upgrade, to be
# committed with a whole `make test` run. requirements-runtime.lock is the same resolution
# without the dev tools (the container image).
UPGRADE ?=
LOCK_FLAGS := --universal --generate-hashes --python-version 3.11 --quiet
lock: install
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --group build --group lock \
	  $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) -o requirements.lock
	$(VENV)/bin/uv pip compile pyproject.toml --group build \
	  $(LOCK_FLAGS) -c requirements.lock -o requirements-runtime.lock

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: install
	$(VENV)/bin/mypy

unit: install browser balancer
	$(VENV)/bin/pytest tests -q

test: lint types unit

# Debian's Chromium and the playwright package that drives it, for the console's browser tests
# (tests/e2e/console); quick when both are there. Where neither root nor `sudo -n` can install
# it, it only warns: the browser tests then skip locally and fail under CI=true.
CHROMIUM ?= /usr/bin/chromium
APT_GET  := env DEBIAN_FRONTEND=noninteractive apt-get
browser: install
	@test -x $(CHROMIUM) || { \
	  root=$$(test "$$(id -u)" = 0 || echo "sudo -n"); \
	  $$root $(APT_GET) install -y -q chromium >/dev/null 2>&1 \
	  || { $$root $(APT_GET) update -q >/dev/null && $$root $(APT_GET) install -y -q chromium; } \
	  || echo "warning: chromium could not be installed: the browser tests will skip"; }

# Debian's HAProxy, the TCP balancer in front of the API hosts of the multi-host tests
# (tests/multihost); quick when it is there. Like `browser`, it only warns when it cannot be
# installed: those tests then skip locally and fail under CI=true.
HAPROXY ?= /usr/sbin/haproxy
balancer:
	@test -x $(HAPROXY) || { \
	  root=$$(test "$$(id -u)" = 0 || echo "sudo -n"); \
	  $$root $(APT_GET) install -y -q haproxy >/dev/null 2>&1 \
	  || { $$root $(APT_GET) update -q >/dev/null && $$root $(APT_GET) install -y -q haproxy; } \
	  || echo "warning: haproxy could not be installed: the multi-host tests will skip"; }

# The hub over hosts made of network namespaces (root): a three-node RabbitMQ cluster,
# PostgreSQL, two API hosts behind HAProxy, two worker and two relay hosts, killed in turn.
multihost: install balancer
	$(VENV)/bin/pytest tests/multihost -q

# The whole hub on this machine: RabbitMQ (started, or installed with LIENTHONG_DEMO_INSTALL=1
# as root), the hub on SQLite, the simulated axis, ministries and Hà Nội's agencies playing the
# city-day scenario, all under .demo/. Runs until Ctrl-C; ARGS=--once stops after the summary.
demo: install
	$(VENV)/bin/lienthong-sim demo $(ARGS)

# The edxml library on the public samples and on packets it builds itself.
demo-edxml: install
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

bench-startup: install
	$(PY) bench/startup.py $(ARGS)

bench-console: install
	$(PY) bench/bench_console.py $(ARGS)

bench-vxp: install
	$(PY) bench/bench_vxp.py $(ARGS)

# The generated reference pages (docs/configuration.md, from hub/settings.py).
docs: install
	$(VENV)/bin/lienthong config docs > docs/configuration.md

# Hostile packets at n, 2n, 4n per dimension a sender controls, each read in a fresh process:
# CPU, peak RSS and growth per doubling (ARGS=--strict fails on a missed target).
bench-hostile: install
	$(PY) bench/bench_hostile.py $(ARGS)

# Coverage-guided fuzzing (atheris) of the packet reader, the signature check and the
# attachment decoder, and of the agency API through its OpenAPI document (schemathesis, a hub
# served on a free port), FUZZ_SECONDS each; corpora grow under .fuzz/corpus, crashing inputs
# land in .fuzz/artifacts, API findings in .fuzz/api. `make test` runs a few seconds of each
# (tests/fuzz); ARGS=api fuzzes the API alone.
FUZZ_SECONDS ?= 60
fuzz: install
	$(PY) -m tests.fuzz.run --seconds $(FUZZ_SECONDS) $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
