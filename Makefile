# shiren — two commands: `make run` and `make test`. Both install what they need first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
APT_PACKAGES := fonts-noto-cjk
APT_TEST_PACKAGES := chromium chromium-driver
MEDIAPIPE := mediapipe==0.10.21

.PHONY: run test install install-test system-deps system-test-deps lint bench clean

# The demo integrator app at /demo is on; its RPMin flow serves the uploaded photos from shiren's own
# (loopback) address, which image fetching may reach only when allowed.
run: install
	SHIREN_DEMO=$${SHIREN_DEMO:-true} \
	SHIREN_FETCH_ALLOW_HOSTS=$${SHIREN_FETCH_ALLOW_HOSTS:-127.0.0.1:$${SHIREN_PORT:-8080}} \
	$(BIN)/shiren serve

test: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -q

# Debian packages (fonts for ID-card rendering; Chromium for browser tests), installed only when missing.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "apt-get install$$missing"; \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

system-test-deps: system-deps
	@missing=""; for p in $(APT_TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "apt-get install$$missing"; \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# mediapipe 0.10.21 is the last release that bundles its .tflite models; its declared dependencies pull ~1 GB
# we do not use, so it goes in without them (pyproject lists the ones it really imports).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/pip install -q --no-deps $(MEDIAPIPE)
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: system-deps $(VENV)/.installed

install-test: system-test-deps install $(VENV)/.installed-test

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: install-test
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .cache .pytest_cache
