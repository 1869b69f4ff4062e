# One obvious command for each thing. `make test` is what CI runs (.ci/run).
PYTHON ?= python3
export MNIST_DIR ?= ../shared/mnist
export UNIPEN_DIR ?= ../shared/unipen
export PENDIGITS_DIR ?= ../shared/pendigits

# axe-core, the accessibility audit the browser tests run (npm's package, pinned)
AXE_CORE = 4.14.1

.PHONY: install test test-fast lint train serve bench chromium axe postgres

install:            ## the app and its dependencies
	$(PYTHON) -m pip install -q -e .

chromium:           ## Debian's Chromium for the browser tests (Playwright cannot download one here)
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium; }

axe:                ## axe-core for the browser tests' audits, into build/axe/ (npm; Debian's npm if missing)
	@grep -qs '"version": "$(AXE_CORE)"' build/axe/node_modules/axe-core/package.json || { \
	  command -v npm >/dev/null || { \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq npm; }; \
	  npm install --no-save --no-package-lock --no-audit --no-fund --prefix build/axe \
	    axe-core@$(AXE_CORE); }

postgres:           ## Debian's PostgreSQL, for the store's tests (a throwaway cluster per run)
	@ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq postgresql; }

# Every test, against a throwaway PostgreSQL cluster (scripts/ci_postgres.sh) stopped afterwards,
# whether the tests pass or not.
test: chromium axe postgres  ## install everything, then every test (browser and slow ones too)
	$(PYTHON) -m pip install -q -e '.[test]'
	eval "$$(scripts/ci_postgres.sh start)"; \
	trap 'scripts/ci_postgres.sh stop "$$TEST_POSTGRES_DIR"' EXIT; \
	$(PYTHON) -m pytest

test-fast:          ## the quick ones, no browser, no training runs
	$(PYTHON) -m pytest -m "not slow and not browser" -q

lint:
	ruff check .

train: install      ## the committed model: python train.py with its defaults
	$(PYTHON) train.py

serve: install      ## http://localhost:8080
	$(PYTHON) serve.py

bench: install      ## speed of nn vs PyTorch (installs the CPU build of PyTorch)
	$(PYTHON) -m pip install -q -e '.[bench]'
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PYTHON) bench.py --server
