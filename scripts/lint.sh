#!/usr/bin/env bash
# Formatter, linter and type checker, as configured in pyproject.toml and .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check python tests benchmarks scripts
.venv/bin/ruff format --check python tests benchmarks scripts
.venv/bin/mypy
git ls-files -co --exclude-standard '*.cpp' '*.h' '*.cu' '*.cuh' | xargs .venv/bin/clang-format --dry-run --Werror
echo "lint: clean"
