# Two commands on a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint format typecheck check install install-dev lock bench bench-search bench-mixed clean

# Installs take the versions in constraints.txt (the lock file), never whatever is newest.
$(BIN)/forum: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.dev: $(BIN)/forum
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(BIN)/forum

install-dev: $(VENV)/.dev

# The printed set-up link and the links in e-mails use the port actually served, unless
# FORUM_BASE_URL is set (in the environment or instance/forum.cfg): `forum init` and
# `forum serve` both read PORT. Links made in the browser follow the browser's address.
# `forum init` refuses to run as root unless told (files root makes in instance/ would be
# root's, and a service running as its own user could not open them). `make run` tells it
# only when this checkout itself belongs to root (a container, a CI box: root owns all of
# it anyway), never as root in a checkout someone else owns (/srv/forum, owned by forum).
ALLOW_ROOT = $(shell [ "$$(id -u)" = 0 ] && [ "$$(stat -c %u . 2>/dev/null)" = 0 ] && echo --allow-root)

run: install
	PORT=$(PORT) $(BIN)/forum init $(ALLOW_ROOT)
	PORT=$(PORT) $(BIN)/forum serve --port $(PORT)

# One pytest worker per core (xdist); each test file runs whole on one worker, so a
# module's shared fixtures (the leak tests' planted world) are built once.
PYTEST_WORKERS ?= auto

test: install-dev
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

lint: install-dev
	$(BIN)/ruff check forum tests bench migrations wsgi.py
	$(BIN)/ruff format --check forum tests bench wsgi.py

format: install-dev
	$(BIN)/ruff format forum tests bench wsgi.py
	$(BIN)/ruff check --fix forum tests bench wsgi.py

typecheck: install-dev
	$(BIN)/mypy

check: lint typecheck test

# Regenerate constraints.txt: the newest versions pyproject.toml allows, installed into a
# throw-away venv. Deliberate only: run the tests on the result, then commit it.
LOCK_VENV ?= .venv-lock

lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/pip install --quiet -e '.[dev]'
	sed -n '/^#/p' constraints.txt > constraints.txt.new
	$(LOCK_VENV)/bin/pip freeze --exclude-editable >> constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(LOCK_VENV)
	@echo "constraints.txt regenerated: run make test, then commit it."

bench: install-dev
	$(BIN)/python bench/run.py

bench-search: install-dev
	$(BIN)/python bench/search.py

bench-mixed: install-dev
	$(BIN)/python bench/mixed.py

clean:
	rm -rf $(VENV) $(LOCK_VENV) .pytest_cache .ruff_cache .mypy_cache
