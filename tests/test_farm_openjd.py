"""The shipped Open Job Description template, run locally by ``openjd run`` (openjd-cli)."""

from __future__ import annotations

import json
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


def _run(
    plates: Path, out: Path, frames: str, *params: str, chunk_size: int = 3
) -> subprocess.CompletedProcess[str]:
    """``openjd run`` of the template; ``params`` are more ``NAME=VALUE`` job parameters."""
    return _openjd(
        "run",
        str(openjd_template()),
        "-p", f"Input={plates / 'plate.####.exr'}",
        "-p", f"Output={out / 's.####.exr'}",
        "-p", f"Frames={frames}",
        "-p", f"ChunkSize={chunk_size}",
        "-p", f"Python={sys.executable}",
        "-p", "Device=cpu",
        "-p", "TimeoutSeconds=600",
        *(arg for param in params for arg in ("-p", param)),
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


def test_every_template_parameter_reaches_the_render(tmp_path: Path) -> None:
    """A stepped OpenJD range, the method settings, and ExtraArgs with a quoted path holding a
    space and ``####``: the mask comes only from ExtraArgs, and MaskMode styles fails without
    one, so the run succeeding shows it arrived whole."""
    make_sequence(tmp_path / "plates", range(1, 6))
    make_sequence(tmp_path / "mask dir", [1, 3, 5], name="m")
    mask = tmp_path / "mask dir" / "m.####.exr"
    done = _run(
        tmp_path / "plates",
        tmp_path / "out",
        "1-5:2",
        "Style=pastel-crayon",
        "SecondStyle=heavy-outline",
        "StyleBlend=1:0.2,5:0.6",
        "StrokeScale=0.5",
        "MaskMode=styles",
        "Method=builtin",
        "PreserveColour=luminance",
        f"ExtraArgs=--log-format json --mask '{mask}'",
        chunk_size=2,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Frame(CHUNK[INT]) = 1,3" in done.stdout and "Frame(CHUNK[INT]) = 5" in done.stdout
    assert '"event": "start"' in done.stdout  # --log-format json from ExtraArgs
    for frame, blend in ((1, 0.2), (3, 0.4), (5, 0.6)):
        assert _params(tmp_path / "out" / f"s.{frame:04d}.exr") == {
            "method": "builtin",
            "style": "pastel-crayon",
            "second_style": "heavy-outline",
            "style_blend": pytest.approx(blend),
            "strength": 1.0,
            "stroke_scale": 0.5,
            "mask_mode": "styles",
            "preserve_colour": "luminance",
        }
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "s.0001.exr",
        "s.0003.exr",
        "s.0005.exr",
    ]


def _params(path: Path) -> dict[str, object]:
    import OpenImageIO as oiio  # noqa: N813

    image = oiio.ImageInput.open(str(path))
    assert image is not None, oiio.geterror()
    try:
        params: dict[str, object] = json.loads(image.spec().getattribute("neuralstyle:params"))
    finally:
        image.close()
    return params
