#!/usr/bin/env bash
# Creates (or updates) the project's virtual environment with the pinned dependencies.
# Idempotent: a second run with an unchanged pyproject.toml does nothing.
#
# torch is installed on its own first, so that a CPU-only machine never pulls the CUDA build
# (several GB of nvidia-* wheels): a local CPU wheel (pip's find-links) wins, then, without an
# NVIDIA driver, the PyTorch CPU index; with a driver, PyPI's default (CUDA) build.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
TORCH_SPEC="torch==$(sed -n 's/^ *"torch==\([^"]*\)".*/\1/p' pyproject.toml)"
STAMP="$VENV/.bnnrepro-installed"
want=$(cat pyproject.toml envs/constraints.txt | sha256sum | cut -c1-16)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "bnnrepro needs Python >= 3.11, found " + sys.version' 
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
# Local mirrors configured on some machines warn about every package they lack: keep the log readable.
quiet_pip() { "${PIP[@]}" "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '${TORCH_SPEC#torch==}' else 1)" 2>/dev/null; then
  if quiet_pip install --no-deps --no-index "$TORCH_SPEC" 2>/dev/null; then
    echo "install: $TORCH_SPEC from a local wheel"
  elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
    echo "install: $TORCH_SPEC (CUDA build, NVIDIA driver found)"
    quiet_pip install --no-deps "$TORCH_SPEC"
  else
    echo "install: $TORCH_SPEC (CPU build from download.pytorch.org)"
    quiet_pip install --no-deps --index-url https://download.pytorch.org/whl/cpu "$TORCH_SPEC"
  fi
fi

# The rest, with the full lock as constraints. torch is already satisfied, so nothing CUDA comes in.
quiet_pip install -c envs/constraints.txt -e ".[dev]"
echo "$want" > "$STAMP"
echo "install: environment ready in $VENV"
