# pi-dashboard: `make run` starts the daemon (mock mode + demo config without a config file),
# `make test` sets everything up and runs the suite. Both work from a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test
VENDOR := static/vendor
ARGS   ?=
PYTEST_ARGS ?=

.PHONY: run test lint format vendor venv bench bench-shared clean wheel

run: $(STAMP) vendor
	$(VENV)/bin/pi-dashboard run $(ARGS)

test: $(TSTAMP) vendor
	node --test tests/js/
	$(PY) -m pytest $(PYTEST_ARGS)

# tsc comes from package-lock.json (`make vendor` ran npm ci); tsconfig.json checks static/js.
lint: $(TSTAMP) vendor
	$(VENV)/bin/ruff check pi_dashboard tests bench build_backend.py
	$(VENV)/bin/ruff format --check pi_dashboard tests bench build_backend.py
	$(VENV)/bin/mypy
	node_modules/.bin/tsc -p tsconfig.json

format: $(TSTAMP)
	$(VENV)/bin/ruff format pi_dashboard tests bench build_backend.py
	$(VENV)/bin/ruff check --fix pi_dashboard tests bench build_backend.py

venv: $(STAMP)

# `make run` installs only what the daemon needs; `make test` adds the test tools.
$(STAMP): pyproject.toml build_backend.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -e .
	@touch $@

$(TSTAMP): $(STAMP)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[test]'
	@touch $@

# Front-end libraries come from the npm registry through package-lock.json and are copied next to
# our own static files; they are never committed and never loaded from a CDN. Which files: the
# "vendor" map in package.json. Every package build does the same by itself (build_backend.py).
vendor: $(VENDOR)/.stamp static/dist/sources.sha256

$(VENDOR)/.stamp: package.json package-lock.json build_backend.py
	$(PYTHON) build_backend.py

# The page minified into one module, a chart chunk and one stylesheet (esbuild, from the lock
# file); the server serves static/js itself whenever this is older than the sources.
static/dist/sources.sha256: $(VENDOR)/.stamp $(wildcard static/js/*.js static/js/*/*.js static/css/*.css)
	$(PYTHON) build_backend.py bundle

# The wheel a Pi installs (the build runs `npm ci` itself when static/vendor/ is missing).
wheel: $(STAMP)
	$(PY) -m pip wheel --no-deps -w dist .

# `make bench`: the project's scenarios (and ../shared/bench's node and Python references with the
# same load client, when its setup.sh has run), micro-benchmarks and a 10-minute soak; see
# bench/README.md. BENCH_ARGS picks parts: BENCH_ARGS="scenarios micro --scenarios fanout".
BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

# ../shared/bench's own harness and node client: node, pyref and the project side by side.
bench-shared: $(STAMP)
	bash ../shared/bench/setup.sh
	python3 ../shared/bench/bench.py \
		--targets node,pyref,project $(BENCH_ARGS)
	python3 ../shared/bench/compare.py --last 1

clean:
	rm -rf $(VENV) node_modules $(VENDOR) build dist *.egg-info
