# piplwatch: the two set-up commands are `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint system-deps install bench clean train

$(STAMP): pyproject.toml setup.py detectors/_greedy_ner.pyx detectors/_scan_core.pyx detectors/_hs.pyx \
		detectors/_sha256.h detectors/validators/_checks.pyx detectors/validators/_checks.pxd
	deploy/build-deps.sh
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## the main job: embedded broker + worker + simulator + /metrics + dashboard, Ctrl-C stops all
demo: $(STAMP)
	$(BIN)/piplwatch demo

## everything CI runs: system packages the tests need, ruff + mypy, then the whole test suite (starts the embedded
## broker, Prometheus, Alertmanager and Chromium itself)
test: $(STAMP) system-deps lint
	$(BIN)/python -m pytest -q

## the quick loop: tests not marked slow (no worker processes, monitoring stack, browser or NER model)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

system-deps:
	tests/install-system-deps.sh

bench: $(STAMP)
	$(BIN)/python tests/benchmarks/bench_detectors.py

train: $(STAMP)
	cd models && ../$(BIN)/python -m weasel run all

clean:
	rm -rf $(VENV) .pytest_cache
