# The two commands of the README: `make run` and `make test`. Everything else is set up from here.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: run test lint bench eval venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "installing JasPing and its dependencies into $(VENV) (first run: a minute or two)…"
	@$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

run: venv
	@$(BIN)/jasping migrate
	@$(BIN)/jasping demo
	@$(BIN)/jasping serve --host $(HOST) --port $(PORT)

# The suite runs over pytest-xdist workers, one per core (PYTEST_WORKERS=0: one process, e.g. to debug).
PYTEST_WORKERS ?= auto
test: venv
	@$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: venv
	@$(BIN)/ruff check src tests bench

bench: venv
	@$(BIN)/python bench/http_bench.py

eval: venv
	@$(BIN)/python bench/answer_eval.py $(EVAL_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
