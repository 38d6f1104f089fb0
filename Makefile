# piplwatch: the two set-up commands are `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install bench clean train

$(STAMP): pyproject.toml setup.py detectors/_greedy_ner.pyx detectors/_scan_core.pyx
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## the main job: embedded broker + worker + simulator + /metrics + dashboard, Ctrl-C stops all
demo: $(STAMP)
	$(BIN)/piplwatch demo

## the whole test suite (starts the embedded broker, Prometheus and Alertmanager where installed)
test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python tests/benchmarks/bench_detectors.py

train: $(STAMP)
	cd models && ../$(BIN)/python -m weasel run all

clean:
	rm -rf $(VENV) .pytest_cache
