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

.PHONY: setup demo test chromium
setup: $(STAMP) chromium

# the console's browser tests drive Debian's chromium through Playwright (no browser download)
chromium:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

demo: $(STAMP)
	$(VENV)/bin/aos demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q
