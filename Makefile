# `make run` launches the app (setting everything up on first use); `make test` runs all tests.
.PHONY: run test bench setup
ARGS ?=

setup:
	@scripts/bootstrap.sh

run: setup
	@.venv/bin/internlm-tui $(ARGS)

test:
	@scripts/test.sh

bench: setup
	@.venv/bin/python -m benchmarks
