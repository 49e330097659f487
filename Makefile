# The two commands a user needs: `make dist` and `make test`. Each installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYODIST := $(VENV)/bin/pyodist

.PHONY: all venv host-deps node-deps engine image packages dist test test-slow test-all lint unit bench \
	science-tests clean

all: dist

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

venv: $(STAMP)

# Host tools from Debian that pyodist calls: patch (recipe patches), node/npm (the Pyodide
# runtime), debootstrap (the toolchain image), docker-registry (the CNCF OCI registry the
# artifact-store tests run on 127.0.0.1).
host-deps:
	@tools/ensure-debian-packages.sh patch=patch node=nodejs npm=npm debootstrap=debootstrap \
		dpkg-deb=dpkg chromium=chromium docker-registry=docker-registry

# npm packages for the browser tests (playwright-core drives Debian's chromium; no browser
# is ever downloaded). Exact pins in package.json; the registry is npm's configured one.
node-deps: host-deps
	@[ -d node_modules/playwright-core ] || npm install --no-package-lock --no-audit --no-fund --silent

# A Docker engine that answers (installed and started when absent).
engine: host-deps
	@tools/ensure-docker.sh

# The toolchain image, bootstrapped from Debian packages; a no-op when its inputs are unchanged.
image: venv engine
	$(PYODIST) toolchain build

JOBS ?= 2

# The default profile's packages in the user's artifact cache, which the tests take them from:
# what `make dist` builds, so a no-op after it (and the build itself where it has not run).
packages: venv host-deps image
	$(PYODIST) build --profile -j $(JOBS)

# The main job: build the default profile of pyodist.toml (every recipe, cached by content)
# into dist/<name>-<version>-<profile>/ and its .tar.gz; PROFILE=slim for the small one.
PROFILE ?=
dist: venv host-deps image
	$(PYODIST) recipes check
	$(PYODIST) bundle -j $(JOBS) $(if $(PROFILE),--profile $(PROFILE))

lint: venv
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

unit: venv
	$(VENV)/bin/pytest tests/unit -q

# pytest exits 5 when it collects nothing: that is a broken suite, not a pass.
PYTEST_RUN = run() { "$$@"; code=$$?; \
	if [ $$code -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; \
	exit $$code; }; run $(VENV)/bin/pytest -q --durations=30

# make test: everything but the slow tier and the science bundle's tests, with a per-test
# time budget (seconds of setup and call; a test over it fails unless it is marked slow).
# Packages it needs come from the user's artifact cache, which `make dist` filled.
TEST_BUDGET ?= 300
test: lint host-deps node-deps packages
	@$(PYTEST_RUN) --test-budget $(TEST_BUDGET) -m "not slow and not science_profile"

# The slow tier: cold builds of every recipe, cold releases of every profile but science,
# the dataframes bundle (pandas, matplotlib), numpy-noblas. No budget.
test-slow: venv host-deps node-deps packages
	@$(PYTEST_RUN) -m "slow and not science_profile"

# Every tier: make test, make test-slow, make science-tests.
test-all: test test-slow science-tests

# The science stack's own test suites (SciPy, pandas, matplotlib and scikit-learn subsets) in
# the science bundle (bundled first, SciPy's build included, when dist/ lacks it), with a
# passed/failed/skipped table; `make test` runs a slice of pandas' and matplotlib's and
# checks the OpenBLAS that SciPy links.
science-tests: venv host-deps node-deps image
	$(PYODIST) bundle --profile science
	PYODIST_SCIENCE_BUNDLE=dist/pyodist-demo-0.1.0-science \
	    $(VENV)/bin/pytest -q -m science_profile tests/integration/test_science_stack.py \
	    tests/integration/test_science_snapshot.py
	$(PY) bench/science_tests.py

bench: venv image
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	$(PY) bench/run_all

clean:
	rm -rf dist build .mypy_cache .ruff_cache .pytest_cache
