# Two commands on a fresh machine (see README, Quick start):
#   make demo   - set everything up and run the end-to-end demo
#   make test   - set everything up and run the whole test suite
PYTHON ?= python3
VENV   := .venv
STAMP  := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

.PHONY: setup demo test
setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/aos demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q
