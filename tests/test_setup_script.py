"""``scripts/setup.sh``: one short line per step, tool output in its log, and on failure the log's
tail and a non-zero exit. Run on a copy of the script in an empty folder, so nothing is installed
or built."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SETUP = Path(__file__).parents[1] / "scripts" / "setup.sh"

# Stands in for python3.11: `-m venv DIR` makes a venv whose pip chatters (the pip config of our
# machines prints such a warning per index location) and succeeds, and whose python names a
# pybind11 folder; cmake then fails for real, as the folder has no CMakeLists.txt.
_FAKE_PYTHON = r"""#!/usr/bin/env bash
set -e
[ "$1 $2" = "-m venv" ]
mkdir -p "$3/bin"
cat >"$3/bin/python" <<'EOF'
#!/usr/bin/env bash
echo /nowhere/pybind11
EOF
cat >"$3/bin/pip" <<'EOF'
#!/usr/bin/env bash
for i in $(seq 112); do echo "WARNING: Location 'file:///opt/pypi/simple/x/' is ignored" >&2; done
EOF
chmod +x "$3/bin/python" "$3/bin/pip"
"""


def _run_setup(root: Path, python: str) -> subprocess.CompletedProcess[str]:
    (root / "scripts").mkdir()
    shutil.copy(SETUP, root / "scripts" / "setup.sh")
    return subprocess.run(
        ["bash", str(root / "scripts" / "setup.sh")],
        env=os.environ | {"NEURALSTYLE_PYTHON": python},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_a_failing_step_prints_the_tail_of_its_log(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-python")
    run = _run_setup(tmp_path, missing)
    assert run.returncode != 0
    assert run.stdout == f"setup: [1/5] venv .venv ({missing})\n"
    first, *tail = run.stderr.splitlines()
    assert first.startswith("setup: failed at [1/5] venv .venv") and "setup.log" in first
    assert any("no-such-python" in line for line in tail)  # the shell's own words, from the log
    assert "no-such-python" in (tmp_path / "setup.log").read_text()


def test_tool_chatter_goes_to_the_logs(tmp_path: Path) -> None:
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    fake = tmp_path / "fake-python"
    fake.write_text(_FAKE_PYTHON)
    fake.chmod(0o755)
    root = tmp_path / "repo"
    root.mkdir()
    run = _run_setup(root, str(fake))
    assert run.returncode != 0
    steps = run.stdout.splitlines()
    assert [line.split("]")[0] for line in steps] == ["setup: [1/5", "setup: [2/5", "setup: [3/5"]
    assert "is ignored" not in run.stdout + run.stderr  # pip's warnings stay in setup.log
    assert (root / "setup.log").read_text().count("is ignored") == 2 * 112  # two pip installs
    first, *tail = run.stderr.splitlines()
    assert first.startswith("setup: failed at [3/5] configure") and "build.log" in first
    assert 0 < len(tail) <= 60 and any("CMakeLists.txt" in line for line in tail)
