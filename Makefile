# kgart: `make demo` and `make test` work on a fresh machine with Python >= 3.11.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_STORE ?= var/store
PYTEST_ARGS ?=

.PHONY: install browser test demo bench lint clean

# The virtual environment is rebuilt when the dependencies change.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Debian's chromium for the browser tests (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  ( $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium ) \
	  || echo "could not install chromium: the browser tests will be skipped"; }

test: install browser
	$(BIN)/pytest $(PYTEST_ARGS)

demo: install
	$(BIN)/kgart --store $(DEMO_STORE) demo

bench: install
	$(BIN)/python bench/load_iconclass.py

# mypy reads the four packages as the one namespace they are installed as: a tree of
# links (build/typecheck/kgart, with loaders/, embeddings/, web/ linked in) stands in
# for setuptools' package-dir mapping, which mypy cannot follow.
lint: install
	$(BIN)/ruff check kgart loaders embeddings web tests bench
	rm -rf build/typecheck && mkdir -p build/typecheck/kgart
	for f in kgart/*.py kgart/py.typed; do ln -s "$(CURDIR)/$$f" build/typecheck/kgart/; done
	for d in loaders embeddings web ontology; do ln -s "$(CURDIR)/$$d" build/typecheck/kgart/$$d; done
	cd build/typecheck && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml kgart

clean:
	rm -rf $(VENV) var .pytest_cache
