"""The Dask back end on a local cluster of 2 worker processes (127.0.0.1, dashboards off, stopped
at the end of each render), with failures injected through the documented test hook
``NEURALSTYLE_FARM_INJECT`` (read only by the task wrapper)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from farm_support import error_lines, frame_lines, make_sequence, read_pixels, render

pytestmark = pytest.mark.slow

FRAMES = range(1, 13)


@pytest.fixture(scope="module")
def plates(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_sequence(tmp_path_factory.mktemp("dask") / "plates", FRAMES)


def _inject(spec: str, state: Path) -> dict[str, str]:
    state.mkdir()
    return {"NEURALSTYLE_FARM_INJECT": spec, "NEURALSTYLE_FARM_INJECT_STATE": str(state)}


def test_dask_frames_equal_local_frames_and_transient_errors_are_retried(
    plates: str, tmp_path: Path
) -> None:
    args = ["--frames", "1-12", "--style", "mosaic", "--strength", "1:0.2,12:1", "--device", "cpu"]
    local = render([plates, "-o", str(tmp_path / "local/s.####.exr"), *args])
    assert local.returncode == 0, local.stderr

    state = tmp_path / "state"
    done = render(
        [plates, "-o", str(tmp_path / "dask/s.####.exr"), *args, "--workers", "2",
         "--chunk-size", "2", "--retries", "1"],
        env=_inject("transient@3x1", state),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (state / "transient-3").read_text() == ".."  # failed once, retried once
    lines = frame_lines(done.stderr)
    assert sorted(lines) == list(FRAMES)
    # One render process per worker, each rendering several chunks: the model loads once per worker.
    pids = [line["pid"] for line in lines.values()]
    assert len(set(pids)) == 2 and all(pids.count(p) >= 2 for p in set(pids))
    for frame in FRAMES:
        name = f"s.{frame:04d}.exr"
        local_pixels = read_pixels(tmp_path / "local" / name)
        assert np.array_equal(read_pixels(tmp_path / "dask" / name), local_pixels), frame


def test_killed_worker_and_hung_task_fail_cleanly(plates: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    start = time.monotonic()
    done = render(
        [plates, "-o", str(out / "s.####.exr"), "--frames", "1-8", "--device", "cpu",
         "--workers", "2", "--retries", "1", "--timeout", "15"],
        env=_inject("kill@3,hang@6", tmp_path / "state"),
    )  # fmt: skip
    elapsed = time.monotonic() - start
    assert done.returncode == 75, done.stderr  # retryable elsewhere: exhausted here
    assert len(error_lines(done.stderr)) == 1
    lines = frame_lines(done.stderr)
    assert (lines[3]["status"], lines[3]["error"]) == ("failed", "DeviceError")  # worker died
    assert lines[6]["error"] == "TaskTimeoutError"
    assert (tmp_path / "state/kill-3").read_text() == ".."  # both attempts killed their worker
    assert (tmp_path / "state/hang-6").read_text() == ".."  # both attempts timed out
    # Every other frame is whole; the killed frame left nothing, not even its temporary file.
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"s.{f:04d}.exr" for f in (1, 2, 4, 5, 7, 8)]
    assert elapsed < 240
