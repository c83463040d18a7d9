# kgart: `make demo` and `make test` work on a fresh machine with Python >= 3.11.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_STORE ?= var/store
PYTEST_ARGS ?=

.PHONY: install test demo bench lint clean

# The virtual environment is rebuilt when the dependencies change.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(VENV)/.installed

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

demo: install
	$(BIN)/kgart --store $(DEMO_STORE) demo

bench: install
	$(BIN)/python bench/load_iconclass.py

lint: install
	$(BIN)/ruff check kgart loaders embeddings web tests bench
	$(BIN)/mypy kgart

clean:
	rm -rf $(VENV) var .pytest_cache
