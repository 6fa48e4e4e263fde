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

.PHONY: run test lint format vendor venv bench clean wheel

run: $(STAMP) vendor
	$(VENV)/bin/pi-dashboard run $(ARGS)

test: $(TSTAMP) vendor
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(TSTAMP)
	$(VENV)/bin/ruff check pi_dashboard tests bench build_backend.py
	$(VENV)/bin/ruff format --check pi_dashboard tests bench build_backend.py

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
vendor: $(VENDOR)/.stamp

$(VENDOR)/.stamp: package.json package-lock.json build_backend.py
	$(PYTHON) build_backend.py

# The wheel a Pi installs (the build runs `npm ci` itself when static/vendor/ is missing).
wheel: $(STAMP)
	$(PY) -m pip wheel --no-deps -w dist .

bench: $(STAMP)
	bash ../shared/bench/setup.sh
	python3 ../shared/bench/bench.py --targets node,pyref,project

clean:
	rm -rf $(VENV) node_modules $(VENDOR) build dist *.egg-info
