# The two commands of the README. Both set up .venv from nothing (Python 3.11+ only).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: demo test docs clean

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

docs: $(VENV)/.installed
	$(PY) docs/update_cli_help.py

clean:
	rm -rf $(VENV) federation-demo .pytest_cache
