# The two entry points the README promises; both install what they need first (idempotent, quick when done).
PY ?= python3
# Guest languages whose toolchains set-up installs (one word per language).
LANGS ?= rust python typescript go c cpp zig

.PHONY: setup lab test lint bench

setup:
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[lab,test,dask]'
	$(PY) -m asterai_kernel.cli setup $(LANGS)

lab: setup
	$(PY) -m jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

test: setup
	$(PY) -m asterai_kernel.cli setup browser
	$(PY) -m pytest $(PYTEST_ARGS)

lint:
	$(PY) -m ruff check kernel tests benchmarks
	$(PY) -m ruff format --check kernel tests benchmarks

bench: setup
	$(PY) benchmarks/run.py
