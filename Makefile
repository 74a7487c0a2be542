# Two commands for a newcomer: `make run` and `make test` (see README.md).
PYTHON ?= python3
DEVTOOL = $(PYTHON) tools/devtool.py

.PHONY: run mail test lint bench bootstrap clean

run:        ## prepare everything, then serve Odoo on http://localhost:8069
	$(DEVTOOL) run

mail:       ## list the mails Odoo sent in the sandbox (tools/mailcatcher.py show N to read one)
	@.venv/bin/python tools/mailcatcher.py list

test:       ## fresh database, install both addons, run every test (TEST_TAGS=... to narrow)
	$(DEVTOOL) test

lint:       ## ruff + pylint-odoo, offline
	$(DEVTOOL) lint

bench:      ## benchmarks in tools/bench (ratios against a baseline measured in the same run)
	$(DEVTOOL) bootstrap
	@set -e; for b in tools/bench/bench_*.py; do [ -e "$$b" ] || continue; .venv/bin/python "$$b"; done

bootstrap:  ## only prepare .venv (Odoo, Python dependencies, Azurite)
	$(DEVTOOL) bootstrap

clean:      ## remove the virtual environment and caches (keeps nothing)
	rm -rf .venv .cache
