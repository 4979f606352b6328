# `make run` launches the app (setting everything up on first use); `make test` runs all tests;
# `make test-fast` is the quick loop (lint, types, contracts, unit + app + snapshot tests).
.PHONY: run test test-fast bench setup
ARGS ?=

setup:
	@scripts/bootstrap.sh

run: setup
	@.venv/bin/internlm-tui $(ARGS)

test:
	@scripts/test.sh

test-fast:
	@scripts/test.sh -m "unit or app or snapshots" -n 3

bench: setup
	@.venv/bin/python -m benchmarks
