#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test: lint, the C++ tests (ctest) and pytest.
# GPU tests skip cleanly without a GPU; pass `--device all` to also run them where one exists.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/lint.sh
ctest --test-dir build --output-on-failure
.venv/bin/python -m pytest "$@"
