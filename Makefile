# The two commands a newcomer needs (see README):
#   make demo   -- set up (once) and run the quickstart comparison on real digit images
#   make test   -- set up (once), lint and run the test suite (this is what .ci/run runs)
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test lint

setup:
	bash scripts/setup.sh

demo: setup
	$(PY) tools/quickstart.py

lint: setup
	$(PY) -m ruff check .

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest tests
