# The commands of the README. Each sets up .venv from nothing (Python 3.11+ only).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SCALE  ?= S
FQL_FUZZ_SECONDS ?= 300

.PHONY: demo test fuzz docs bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/federation demo

test: $(VENV)/.installed
	$(PY) -m pytest -q

# Benchmarks (docs/benchmarks.md): run the suites at $(SCALE) (S, M or L), then regenerate the page.
$(VENV)/.bench: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e '.[bench]'
	touch $@

bench: $(VENV)/.bench
	$(PY) -m benchmarks --scale $(SCALE)
	$(PY) -m benchmarks.report

# The fuzzers of tests/test_fuzz.py with random examples, for FQL_FUZZ_SECONDS in all.
fuzz: $(VENV)/.installed
	FQL_FUZZ_SECONDS=$(FQL_FUZZ_SECONDS) $(PY) -m pytest -q -s tests/test_fuzz.py

docs: $(VENV)/.installed
	$(PY) docs/update_cli_help.py

clean:
	rm -rf $(VENV) federation-demo .pytest_cache
