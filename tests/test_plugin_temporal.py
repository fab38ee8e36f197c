"""Temporal stability in the node, through the built bundle in our headless host: the plugin asks
for t-K..t+K (GetFramesNeeded, clamped to the clip), fetches those frames itself, and each frame
equals the farm's ``neuralstyle render --temporal K`` frame bit for bit, in any chunk. A host
without temporal clip access (MLT 7.41) shows the parameters disabled with a note and renders
frame by frame, never blending a frame with itself."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "ofxhost"))
import driver

from farm_support import panned_photo, read_pixels, render, write_exr

pytestmark = pytest.mark.plugin

FRAMES = range(1, 7)
H, W = 56, 80
STYLE = "pastel-crayon"
ON = {"style": STYLE, "temporalStability": "On", "temporalFrames": 2, "device": "CPU"}


def _pan(frame: int) -> np.ndarray:
    return panned_photo(frame, H, W, "coffee")


@pytest.fixture(scope="module")
def shot() -> dict[int, np.ndarray]:
    return {f: _pan(f) for f in FRAMES}


@pytest.fixture(scope="module")
def farm(shot: dict[int, np.ndarray], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The farm's render of the shot with ``--temporal 2``, float EXR (exact)."""
    folder = tmp_path_factory.mktemp("farm")
    for f, pixels in shot.items():
        write_exr(folder / f"pan.{f:04d}.exr", pixels, half=False)
    done = render([str(folder / "pan.####.exr"), "--frames", "1-6", "--device", "cpu",
                   "--style", STYLE, "--temporal", "2", "--depth", "float",
                   "-o", str(folder / "out/s.####.exr")])  # fmt: skip
    assert done.returncode == 0, done.stderr
    return folder / "out"


def test_each_frame_is_the_farm_frame_in_any_chunk(
    built: driver.Built, shot: dict[int, np.ndarray], farm: Path, tmp_path: Path
) -> None:
    whole = driver.run(built, tmp_path / "whole", shot, params=ON)
    assert whole.returncode == driver.EXIT_OK, whole.describe()
    for f in FRAMES:
        expected = read_pixels(farm / f"s.{f:04d}.exr")
        assert np.array_equal(whole.output(f), expected), f
        # The plugin asked for the window, cut at the clip's ends, and fetched only inside it.
        needed = whole.frame(f)["frames_needed"]["Source"]
        assert needed == [max(1, f - 2), min(6, f + 2)], (f, needed)
        times = sorted(i["time"] for i in whole.frame(f)["images"] if i["clip"] == "Source")
        assert times == [float(t) for t in range(int(needed[0]), int(needed[1]) + 1)], (f, times)

    # A chunk reads its handles from the clip (frames 1-6) and renders the same bits.
    chunk = driver.run(built, tmp_path / "chunk", shot, params=ON,
                       extra=["--frames", "3-4", "--clip-range", "1-6"])  # fmt: skip
    assert chunk.returncode == driver.EXIT_OK, chunk.describe()
    for f in (3, 4):
        assert np.array_equal(chunk.output(f), whole.output(f)), f


def test_off_and_amount_zero_render_frame_by_frame(
    built: driver.Built, shot: dict[int, np.ndarray], tmp_path: Path
) -> None:
    plain = driver.run(built, tmp_path / "plain", shot, params={**ON, "temporalStability": "Off"})
    zero = driver.run(built, tmp_path / "zero", shot, params={**ON, "temporalAmount": 0.0})
    assert plain.returncode == zero.returncode == driver.EXIT_OK, plain.describe()
    for f in FRAMES:
        assert np.array_equal(zero.output(f), plain.output(f)), f
        assert plain.frame(f)["frames_needed"]["Source"] == [f, f]  # the default: this frame


def test_a_host_without_temporal_access_gets_disabled_params_and_per_frame_renders(
    built: driver.Built, shot: dict[int, np.ndarray], tmp_path: Path
) -> None:
    mlt = ["--temporal-access", "0"]
    described = driver.describe(built, tmp_path / "describe", extra=mlt)
    params = described["contexts"]["filter"]["params"]
    for name in ("temporalStability", "temporalFrames", "temporalAmount"):
        props = params[name]["props"]
        assert props["OfxParamPropEnabled"] == [0], name
        assert "This host gives effects no other frames" in props["OfxParamPropHint"][0], name
    assert driver.describe(built, tmp_path / "d2")["contexts"]["filter"]["params"][
        "temporalStability"
    ]["props"].get("OfxParamPropEnabled", [1]) == [1]

    # A project saved with it on, opened in MLT: every frame renders alone, with a log line.
    on = driver.run(built, tmp_path / "on", shot, params=ON, extra=mlt)
    plain = driver.run(built, tmp_path / "plain", shot, params={**ON, "temporalStability": "Off"})
    assert on.returncode == plain.returncode == driver.EXIT_OK, on.describe()
    for f in FRAMES:
        assert np.array_equal(on.output(f), plain.output(f)), f
        assert all(i["time"] == f for i in on.frame(f)["images"])
    texts = [m["text"] for m in on.messages()]
    assert sum("gives effects no other frames" in t for t in texts) == 1, (
        texts
    )  # once, not per frame


def test_a_frame_missing_inside_the_window_fails_the_frames_that_need_it(
    built: driver.Built, shot: dict[int, np.ndarray], tmp_path: Path
) -> None:
    gap = {f: pixels for f, pixels in shot.items() if f != 5}  # frame 5 is in the clip's range
    run = driver.run(built, tmp_path / "gap", gap, params=ON,
                     extra=["--frames", "2-3", "--clip-range", "1-6"])  # fmt: skip
    assert run.returncode == driver.EXIT_FAILED, run.describe()
    assert run.frame(2)["ok"]  # its window, 1-4, is whole
    failed = run.frame(3)
    assert not failed["ok"]
    assert "no Source image at time 5" in str(failed["persistent"]), failed
    assert not run.frame_path("frame", 3).exists()  # the host writes no failed frame


def test_optimisation_warm_starts_match_the_farm(
    built: driver.Built, shot: dict[int, np.ndarray], tmp_path: Path
) -> None:
    """Optimisation with Temporal stability starts each frame from the one before it, in
    segments aligned to frame numbers: the node fetches back to the segment start (frame 4 for
    frame 6 with K = 1) and gives the farm's bits, alone or in the whole shot."""
    from skimage import data, transform

    from neuralstyle.io.images import write_image

    painting = tmp_path / "painting.png"
    write_image(painting, (transform.resize(data.rocket(), (48, 64)) * 255).astype(np.uint8))
    folder = tmp_path / "farm"
    folder.mkdir()
    for f, pixels in shot.items():
        write_exr(folder / f"pan.{f:04d}.exr", pixels, half=False)
    done = render([str(folder / "pan.####.exr"), "--frames", "1-6", "--chunk", "6",
                   "--device", "cpu", "--method", "optimize", "--style", str(painting),
                   "--optimize-quality", "draft", "--temporal", "1", "--depth", "float",
                   "-o", str(folder / "out/s.####.exr")])  # fmt: skip
    assert done.returncode == 0, done.stderr
    params = {"method": "Any image: best (optimisation)", "styleFile": str(painting),
              "quality": "Draft", "temporalStability": "On", "temporalFrames": 1,
              "device": "CPU"}  # fmt: skip
    alone = driver.run(built, tmp_path / "alone", shot, params=params,
                       extra=["--frames", "6", "--clip-range", "1-6"])  # fmt: skip
    assert alone.returncode == driver.EXIT_OK, alone.describe()
    assert alone.frame(6)["frames_needed"]["Source"] == [4.0, 6.0]
    assert np.array_equal(alone.output(6), read_pixels(folder / "out" / "s.0006.exr"))
