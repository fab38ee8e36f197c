"""The shipped Open Job Description template, run locally by ``openjd run`` (openjd-cli)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from farm_support import PACKAGE_ROOT, make_sequence
from neuralstyle.farm.templates import openjd_template

pytestmark = pytest.mark.slow

OPENJD = shutil.which("openjd") or str(Path(sys.executable).parent / "openjd")


def _openjd(*args: str) -> subprocess.CompletedProcess[str]:
    if not Path(OPENJD).exists():
        pytest.skip("openjd-cli is not installed")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [OPENJD, *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )


def _run(plates: Path, out: Path, frames: str) -> subprocess.CompletedProcess[str]:
    return _openjd(
        "run",
        str(openjd_template()),
        "-p", f"Input={plates / 'plate.####.exr'}",
        "-p", f"Output={out / 's.####.exr'}",
        "-p", f"Frames={frames}",
        "-p", "ChunkSize=3",
        "-p", f"Python={sys.executable}",
        "-p", "Device=cpu",
        "-p", "TimeoutSeconds=600",
    )  # fmt: skip


def test_template_passes_openjd_check() -> None:
    done = _openjd("check", str(openjd_template()))
    assert done.returncode == 0, done.stdout + done.stderr


def test_openjd_runs_the_template_in_chunks(tmp_path: Path) -> None:
    make_sequence(tmp_path / "plates", range(1, 7))
    done = _run(tmp_path / "plates", tmp_path / "out", "1-6")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Chunks run: 2" in done.stdout
    assert "Frame(CHUNK[INT]) = 1-3" in done.stdout and "Frame(CHUNK[INT]) = 4-6" in done.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"s.{f:04d}.exr" for f in range(1, 7)
    ]


def test_a_failing_chunk_fails_the_run(tmp_path: Path) -> None:
    make_sequence(tmp_path / "plates", [1, 2, 3, 4, 6])  # frame 5 is missing: chunk 4-6 fails
    done = _run(tmp_path / "plates", tmp_path / "out", "1-6")
    assert done.returncode != 0
    assert "missing input frame 5" in done.stdout
    assert "exited with code: 4" in done.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"s.{f:04d}.exr" for f in (1, 2, 3)
    ]
