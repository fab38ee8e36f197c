#!/usr/bin/env bash
# The main job on built-in defaults: set up, then render a 24-frame shot through the OpenFX plugin in
# our headless host (strength and style blend keyframed), writing EXR frames and a contact sheet.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python scripts/main_job.py "$@"
