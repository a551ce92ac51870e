# The two entry points the README promises; both install what they need first (idempotent, quick when done).
PY ?= python3

.PHONY: setup lab test lint bench

setup:
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[lab,test]'
	$(PY) -m asterai_kernel.cli setup rust

lab: setup
	$(PY) -m jupyter lab --notebook-dir=notebooks $(LAB_ARGS)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint:
	$(PY) -m ruff check kernel tests benchmarks
	$(PY) -m ruff format --check kernel tests benchmarks

bench: setup
	$(PY) benchmarks/run.py
