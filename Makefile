# tsmask-qgis — every command a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
# VENV: where `make env` puts the virtual environment (the lanes use one outside the checkout)
export VENV ?= .venv
PY := $(VENV)/bin/python
# extra pytest options, e.g. PYTEST_ARGS=--junitxml=report.xml (scripts/qgis-lane.sh)
PYTEST_ARGS ?=
export QT_QPA_PLATFORM ?= offscreen
# Tests and tools never talk to the network except 127.0.0.1.
export NO_PROXY := 127.0.0.1,localhost
OUT ?= tsmask-demo

.PHONY: help env test test-engine test-qgis test-qgis-all qt6-check lint format bench demo package install-plugin screenshots accuracy clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' Makefile | sed 's/:.*##/\t/'

env:  ## set up Debian's QGIS packages, ./.venv with pinned packages, and warm the kernel cache
	@bash scripts/setup-env.sh

test: env  ## the whole test suite, headless (lint and layering contracts, engine, data, CLI, then QGIS on every lane)
	bash scripts/qgis-lane.sh prefetch
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest $(PYTEST_ARGS) -p no:pytest_qgis --ignore=tests/plugin tests
	bash scripts/qgis-lane.sh all

test-engine: env  ## everything but the QGIS tests
	$(PY) -m pytest -p no:pytest_qgis --ignore=tests/plugin tests

test-qgis: env  ## the QGIS plugin tests only, on this machine's QGIS
	$(PY) -m pytest $(PYTEST_ARGS) tests/plugin

test-qgis-all:  ## the QGIS tests on QGIS 3.22 (here), 3.40 and 3.44 (Debian root file systems)
	bash scripts/qgis-lane.sh all

qt6-check: env  ## Qt 6 / QGIS 4 readiness: Qt 5-only forms in tsmask_qgis/ and tests/, with fixes
	$(PY) scripts/check_qt6.py tsmask_qgis tests

lint: env  ## ruff, format check, mypy, the layering contracts (import-linter) and the Qt 6 check
	$(PY) -m ruff check tsmask_qgis tests scripts bench
	$(PY) -m ruff format --check tsmask_qgis tests scripts bench
	$(PY) -m mypy
	$(VENV)/bin/lint-imports --no-cache
	$(PY) scripts/check_qt6.py tsmask_qgis tests

format: env  ## apply ruff's formatting and safe fixes
	$(PY) -m ruff format tsmask_qgis tests scripts bench
	$(PY) -m ruff check --fix tsmask_qgis tests scripts bench

bench: env  ## speed and memory figures (prints, asserts nothing)
	$(PY) bench/run.py

demo: env  ## the whole pipeline offline on the bundled real sample; writes $(OUT)/
	$(PY) -m tsmask_qgis.cli demo --out $(OUT) --overwrite

package: env  ## tsmask_qgis.zip for QGIS "Install from ZIP"
	$(PY) scripts/package.py

install-plugin: env  ## link this checkout into the default QGIS profile
	$(PY) scripts/install_plugin.py

screenshots: env  ## the dialog, a canvas with masks, the QGIS window and the mask browser to docs/img/ (Xvfb)
	xvfb-run -a -s "-screen 0 1400x1000x24" env QT_QPA_PLATFORM=xcb $(PY) scripts/screenshots.py
	TSMASK_DESKTOP_SCREEN=1600x1000 TSMASK_DESKTOP_SHOTS=$(CURDIR)/docs/img TSMASK_DESKTOP_SHOT_DATE=2016-07-19 \
		$(PY) -m pytest -q -p no:cacheprovider tests/plugin/test_desktop.py

accuracy: env  ## regenerate docs/accuracy.md and its figures
	$(PY) scripts/accuracy.py

clean:  ## remove build products (keeps .venv)
	rm -rf build dist *.egg-info tsmask_qgis.zip $(OUT) .qgis-settings
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
