# Galápagos: `make run` starts the product on its embedded default, `make test` runs every gate.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MARIADB_DIR  ?= $(CURDIR)/.mariadb
MARIADB_PORT ?= 3399
PYTEST_ARGS  ?=

.PHONY: install run test lint test-sqlite test-mysql migration bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

run: install
	$(BIN)/galapagos up

test: lint test-sqlite test-mysql

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# Tests whose subject is Ray (marked `ray`) run once, on MariaDB.
test-sqlite: install
	GALAPAGOS_TEST_DB=sqlite $(BIN)/pytest -m "not ray" $(PYTEST_ARGS)

# Installs Debian's mariadb-server if missing, runs it privately on $(MARIADB_PORT), stops it after.
test-mysql: install
	scripts/mariadb.sh start $(MARIADB_DIR) $(MARIADB_PORT)
	GALAPAGOS_TEST_DB=mysql \
	GALAPAGOS_TEST_MYSQL_URL=mysql://galapagos:galapagos@127.0.0.1:$(MARIADB_PORT)/galapagos_test \
	$(BIN)/pytest $(PYTEST_ARGS); status=$$?; scripts/mariadb.sh stop $(MARIADB_DIR); exit $$status

# New migration after a model change: make migration NAME=add_something
migration: install
	$(BIN)/tortoise makemigrations $(if $(NAME),--name $(NAME))

bench: install
	$(BIN)/python bench/api.py

clean:
	rm -rf $(VENV) .galapagos .mariadb .pytest_cache .mypy_cache .ruff_cache
