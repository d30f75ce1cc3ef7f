# ektp — two commands on a fresh machine with Python 3.11:
#   make demo   install, create the SQLite database, load regions, generate a population, serve
#   make test   install, then lint, types and the test suite (SQLite, and PostgreSQL when
#               EKTP_TEST_POSTGRES_URL is set)

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
DEMO_PROVINCE ?= 32
DEMO_SIZE ?= 20000
HOST ?= 127.0.0.1
PORT ?= 8000
# The tests exercise the optional pieces too: Spark batch dedup and the Bozorth3 baseline.
EXTRAS ?= dev,spark,baseline

.PHONY: install demo test lint typecheck format pytest bench clean-demo

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/ektp demo --province $(DEMO_PROVINCE) --size $(DEMO_SIZE) --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests benchmarks migrations
	$(BIN)/ruff format --check src tests benchmarks migrations
	$(BIN)/mypy

typecheck: install
	$(BIN)/mypy

format: install
	$(BIN)/ruff format src tests benchmarks migrations
	$(BIN)/ruff check --fix src tests benchmarks migrations

pytest: install
	$(BIN)/python -m tests.browser_check
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

test: lint pytest

clean-demo:
	rm -rf data/ektp.sqlite3*
