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
	$(VENV)/bin/ruff check pi_dashboard tests bench
	$(VENV)/bin/ruff format --check pi_dashboard tests bench

format: $(TSTAMP)
	$(VENV)/bin/ruff format pi_dashboard tests bench
	$(VENV)/bin/ruff check --fix pi_dashboard tests bench

venv: $(STAMP)

# `make run` installs only what the daemon needs; `make test` adds the test tools.
$(STAMP): pyproject.toml setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -e .
	@touch $@

$(TSTAMP): $(STAMP)
	$(PY) -m pip install --disable-pip-version-check -q -e '.[test]'
	@touch $@

# Front-end libraries come from the npm registry through package-lock.json and are copied next to
# our own static files; they are never committed and never loaded from a CDN.
vendor: $(VENDOR)/.stamp

$(VENDOR)/.stamp: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed once to fetch the front-end libraries (apt install npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/socket.io-client/dist/socket.io.esm.min.js $(VENDOR)/socket.io.esm.min.js
	cp node_modules/uplot/dist/uPlot.esm.js $(VENDOR)/uPlot.esm.js
	cp node_modules/uplot/dist/uPlot.min.css $(VENDOR)/uPlot.min.css
	cp node_modules/socket.io-client/LICENSE $(VENDOR)/socket.io-client.LICENSE
	cp node_modules/uplot/LICENSE $(VENDOR)/uPlot.LICENSE
	@touch $@

wheel: $(STAMP) vendor
	$(PY) -m pip wheel --no-deps -w dist .

bench: $(STAMP)
	bash ../shared/bench/setup.sh
	python3 ../shared/bench/bench.py --targets node,pyref,project

clean:
	rm -rf $(VENV) node_modules $(VENDOR) build dist *.egg-info
