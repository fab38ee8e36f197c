"""Temporal stability on the farm (``neuralstyle render --temporal K``): steadier frames that
stay random-access, chunk-safe and bit-identical; handles read outside the chunk.

The plate pans a real photograph by a known (+1.5, +0.5) px per frame, as the issue measured."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from farm_support import error_lines, panned_photo, read_pixels, render, write_exr
from neuralstyle.metrics import warping_error

FRAMES = range(1, 9)
H, W = 72, 96


def _pan(frame: int) -> np.ndarray:
    """Scene-linear opaque RGBA: scikit-image's coffee, panned with sub-pixel steps."""
    return np.concatenate([panned_photo(frame, H, W), np.ones((H, W, 1), np.float32)], axis=-1)


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("pan")
    for frame in FRAMES:
        write_exr(folder / f"pan.{frame:04d}.exr", _pan(frame))
    return str(folder / "pan.####.exr")


def _display(path: Path) -> np.ndarray:
    linear = np.clip(read_pixels(path)[..., :3], 0.0, 1.0)
    return (linear ** (1 / 2.2) * 255 + 0.5).astype(np.uint8)


def _shot(folder: Path) -> list[np.ndarray]:
    return [_display(folder / f"s.{f:04d}.exr") for f in FRAMES]


def test_temporal_steadies_the_shot_and_stays_chunk_safe(plate: str, tmp_path: Path) -> None:
    common = [plate, "--frames", "1-8", "--style", "mosaic", "--device", "cpu"]
    plain = render([*common, "-o", str(tmp_path / "plain/s.####.exr")])
    steady = render([*common, "-o", str(tmp_path / "t/s.####.exr"), "--temporal", "2"])
    assert plain.returncode == 0 and steady.returncode == 0, plain.stderr + steady.stderr
    sources = [_display(Path(plate.replace("####", f"{f:04d}"))) for f in FRAMES]
    before = warping_error(_shot(tmp_path / "plain"), sources)
    after = warping_error(_shot(tmp_path / "t"), sources)
    assert after < 0.7 * before, (before, after)

    def sharpness(frames: list[np.ndarray]) -> float:
        return float(np.mean([np.hypot(*np.gradient(f.mean(axis=2) / 255)).mean() for f in frames]))

    # the strokes keep their contrast (consolidate.keep_detail; 0.77x without it)
    assert sharpness(_shot(tmp_path / "t")) > 0.88 * sharpness(_shot(tmp_path / "plain"))

    # Any chunking, and a frame alone, gives the same bits: the window is the shot's.
    for part in ("1-3", "4-8"):
        done = render([*common, "-o", str(tmp_path / "c/s.####.exr"), "--temporal", "2",
                       "--chunk", part])  # fmt: skip
        assert done.returncode == 0, done.stderr
    alone = render([*common, "-o", str(tmp_path / "a/s.####.exr"), "--temporal", "2",
                    "--chunk", "5"])  # fmt: skip
    assert alone.returncode == 0, alone.stderr
    for frame in FRAMES:
        name = f"s.{frame:04d}.exr"
        whole = read_pixels(tmp_path / "t" / name)
        assert np.array_equal(whole, read_pixels(tmp_path / "c" / name)), frame
        if frame == 5:
            assert np.array_equal(whole, read_pixels(tmp_path / "a" / name))
    assert not (tmp_path / "a/s.0004.exr").exists()  # handles are read, never written


def test_amount_zero_is_the_plain_render_and_the_amount_is_keyed(
    plate: str, tmp_path: Path
) -> None:
    common = [plate, "--frames", "1-8", "--chunk", "4-5", "--style", "mosaic", "--device", "cpu"]
    plain = render([*common, "-o", str(tmp_path / "p/s.####.exr")])
    zero = render([*common, "-o", str(tmp_path / "z/s.####.exr"), "--temporal", "2",
                   "--temporal-amount", "0"])  # fmt: skip
    # Keyed like strength: 0 up to frame 4, 1 from frame 6 on, 0.5 at frame 5.
    keyed = render([*common, "-o", str(tmp_path / "k/s.####.exr"), "--temporal", "2",
                    "--temporal-amount", "4:0,6:1"])  # fmt: skip
    for done in (plain, zero, keyed):
        assert done.returncode == 0, done.stderr

    def frame(run: str, number: int) -> np.ndarray:
        return read_pixels(tmp_path / run / f"s.{number:04d}.exr")

    for number in (4, 5):
        assert np.array_equal(frame("p", number), frame("z", number))
    assert np.array_equal(frame("p", 4), frame("k", 4))
    assert not np.array_equal(frame("p", 5), frame("k", 5))


def test_a_missing_handle_frame_fails_before_anything_is_written(
    plate: str, tmp_path: Path
) -> None:
    folder = tmp_path / "holes"
    folder.mkdir()
    for frame in (3, 4, 5):  # frame 6 is a handle of frame 4's window and missing
        write_exr(folder / f"pan.{frame:04d}.exr", _pan(frame))
    pattern = str(folder / "pan.####.exr")
    done = render([pattern, "--frames", "3-6", "--chunk", "4", "--temporal", "2",
                   "-o", str(tmp_path / "o/s.####.exr"), "--device", "cpu"])  # fmt: skip
    assert done.returncode == 4
    (line,) = error_lines(done.stderr)
    assert "missing input frame 6" in line
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_bad_temporal_options_are_one_line_errors(plate: str, tmp_path: Path) -> None:
    base = [plate, "--frames", "1-2", "-o", str(tmp_path / "o/s.####.exr"), "--device", "cpu"]
    for extra, message in (
        (["--temporal", "9"], "--temporal must be from 0 to 8, got 9"),
        (["--temporal-amount", "0.5"], "--temporal-amount needs --temporal"),
        (["--temporal", "2", "--temporal-amount", "2"], "temporal-amount must be from 0 to 1"),
    ):
        done = render([*base, *extra])
        assert done.returncode == 2, done.stderr
        assert message in error_lines(done.stderr)[0]


def test_optimisation_warm_starts_stay_chunk_safe(plate: str, tmp_path: Path) -> None:
    """Optimisation starts each frame from the one before it, in segments aligned to frame
    numbers (temporal.WARM_SEGMENT = 4: frames 4-7 are one): frame 6 rendered alone reads 4-7
    and comes out as in the whole render, whatever the chunks."""
    from skimage import data, transform

    from neuralstyle.io.images import write_image

    painting = tmp_path / "painting.png"
    write_image(painting, (transform.resize(data.rocket(), (48, 64)) * 255).astype(np.uint8))
    common = [plate, "--frames", "1-8", "--method", "optimize", "--style", str(painting),
              "--steps", "3", "--device", "cpu", "--temporal", "1"]  # fmt: skip
    whole = render([*common, "-o", str(tmp_path / "w/s.####.exr")])
    assert whole.returncode == 0, whole.stderr
    for part in ("1-5", "6-8"):
        chunk = render([*common, "-o", str(tmp_path / "c/s.####.exr"), "--chunk", part])
        assert chunk.returncode == 0, chunk.stderr
    for frame in FRAMES:
        name = f"s.{frame:04d}.exr"
        assert np.array_equal(
            read_pixels(tmp_path / "w" / name), read_pixels(tmp_path / "c" / name)
        )
