# The two commands: `make chat` (install, ingest the sample corpus if the store
# is empty, open the chat page) and `make test`. Both install into .venv first,
# and reinstall only when pyproject.toml changes.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
EXTRAS ?= local,dev
PYTEST_ARGS ?=
BENCH_ARGS ?=  # e.g. BENCH_ARGS="--stories-home DIR" (a store of the RealTimeQA dev slice)

.PHONY: chat test install ingest clean-store bench
chat: install
	$(BIN)/newsrag chat

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	@rm -f $(VENV)/.installed-*
	@touch $@

ingest: install
	$(BIN)/newsrag ingest data/articles

bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean-store:
	rm -rf .newsrag/chroma .newsrag/keyword .newsrag/manifests
