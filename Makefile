# forecastab: set up, test, demo. `make demo` and `make test` work from a fresh clone.
PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
EXTRAS ?= dev
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(EXTRAS)

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# the pinned CPU build first, so nothing below pulls a multi-GB CUDA build
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	# dysts regenerates datasets/chaos135 (tests check it is deterministic); its generator needs
	# numpy and scipy (and gluonts, with toolz and pyarrow, importable), while gluonts declares
	# pandas < 3
	$(BIN)/python -m pip install --quiet --no-deps "dysts==0.96" "gluonts==0.17.0" toolz pyarrow
	touch $(STAMP)

demo: setup
	$(BIN)/forecastab run experiments/quickstart/quickstart.yaml --out runs/quickstart

lint: setup
	$(BIN)/ruff check forecastab tests experiments

test: setup lint
	MPLBACKEND=Agg $(BIN)/python -m pytest

bench: setup
	for f in experiments/benchmarks/*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) runs build *.egg-info
