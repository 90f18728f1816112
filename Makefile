# Two set-up-and-go commands on a fresh machine (Python 3.11 and make needed):
#   make notebooks   set up, then execute every notebook headless in full mode into build/
#   make test        set up, then run the unit tests and every notebook in quick mode (nbval)
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: env lab test test-fast lint sync check-sync new-notebook release-check notebooks notebooks-quick store-outputs student-copies slides benchmarks fetch-data clean

env: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (or run: make PYTHON=python3 ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first: 2.13.0 has a CPU-only wheel here; the constraints keep it at that version
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,phonons]"
	touch $(STAMP)

lab: env
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,phonons,notebooks]"
	$(VENV)/bin/jupyter lab notebooks/

test: env
	TUTORIAL_QUICK=1 TUTORIAL_PROGRESS=0 $(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env -p no:cacheprovider

# unit tests only: no notebook runs, no slow tests (venvs, browser); under 2 minutes on 2 cores
test-fast: env
	TUTORIAL_QUICK=1 TUTORIAL_PROGRESS=0 $(PY) -m pytest tests -m "not slow" -p no:cacheprovider

# notebooks/src/*.py (jupytext text sources) -> notebooks/*.ipynb: inputs and slide types
# updated, stored outputs kept; check-sync writes nothing and fails when they differ
sync: env
	$(PY) scripts/notebook_sync.py

check-sync: env
	$(PY) scripts/notebook_sync.py --check

# make new-notebook NAME=07_tensor_properties TITLE="07. Tensor properties of crystals"
new-notebook: env
	$(PY) scripts/notebook_sync.py --new "$(NAME)" "$(TITLE)"

# fails while badges, setup cells, data URLs, the version and the release tag disagree
release-check: env
	$(PY) scripts/release_check.py

lint: env
	$(PY) -m ruff check tutorial_utils tools tests scripts benchmarks notebooks data
	$(PY) -m mypy

notebooks: env
	$(PY) scripts/run_notebooks.py

notebooks-quick: env
	$(PY) scripts/run_notebooks.py --quick

store-outputs: env
	$(PY) scripts/notebook_sync.py
	$(PY) scripts/run_notebooks.py --store $(NB)

student-copies: env
	$(PY) scripts/make_student_copies.py

slides: env
	$(PY) scripts/make_slides.py

benchmarks: env
	$(PY) benchmarks/run.py

fetch-data: env
	$(PY) -m tutorial_utils.data fetch --all

clean:
	rm -rf build
