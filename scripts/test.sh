#!/usr/bin/env bash
# The whole test suite: lint, types, import contract, then every test (slow ones included).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/system-deps.sh
bin=.venv/bin
"$bin/ruff" check .
"$bin/ruff" format --check .
"$bin/mypy"
"$bin/lint-imports"
"$bin/pytest" -q "$@"
