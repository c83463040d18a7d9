# kgart: `make demo` and `make test` work on a fresh machine with Python >= 3.11.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_STORE ?= var/store
PYTEST_ARGS ?=

.PHONY: install assets browser dictionaries test demo bench lint clean

# The virtual environment is rebuilt when the dependencies change.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(VENV)/.installed assets

# Front-end assets from npm, pinned by web/assets/package-lock.json: YASGUI (MIT) for the SPARQL
# page, copied to web/static/vendor/; axe-core (MPL-2.0) for the browser tests' accessibility
# checks. Without npm the SPARQL page falls back to a plain form and the axe checks skip.
ASSETS := web/static/vendor/yasgui/yasgui.min.js
assets: $(ASSETS)

$(ASSETS): web/assets/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "npm not found: the SPARQL page uses its plain form"; exit 0; }; \
	  cd web/assets && npm ci --no-audit --no-fund --loglevel=error && cd ../.. && \
	  mkdir -p web/static/vendor/yasgui && \
	  cp web/assets/node_modules/@zazuko/yasgui/build/yasgui.min.js web/assets/node_modules/@zazuko/yasgui/build/yasgui.min.css \
	     web/assets/node_modules/@zazuko/yasgui/LICENSE web/static/vendor/yasgui/ 2>/dev/null || \
	  cp web/assets/node_modules/@zazuko/yasgui/build/yasgui.min.js web/assets/node_modules/@zazuko/yasgui/build/yasgui.min.css \
	     web/static/vendor/yasgui/

# Debian's chromium for the browser tests (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  ( $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium ) \
	  || echo "could not install chromium: the browser tests will be skipped"; }

# FreeDict's bilingual dictionaries (GPL) into English, for queries in Dutch, German, French,
# Italian, Spanish and Portuguese (kgart/bilingual_dictionaries.py): Debian's packages, 23 MB,
# in /usr/share/dictd where kgart looks. Elsewhere: https://freedict.org/downloads/ (dictd).
FREEDICT := nld deu fra ita spa por
dictionaries:
	@[ -f /usr/share/dictd/freedict-deu-eng.index ] || ! command -v apt-get >/dev/null 2>&1 || { \
	  echo "installing FreeDict's dictionaries for queries in other languages"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  ( $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	      $(foreach l,$(FREEDICT),dict-freedict-$(l)-eng) ) \
	  || echo "could not install them: queries in other languages use the lexicon learned from Iconclass alone"; }

test: install browser dictionaries
	$(BIN)/pytest $(PYTEST_ARGS)

demo: install dictionaries
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
	rm -rf $(VENV) var .pytest_cache web/static/vendor web/assets/node_modules
