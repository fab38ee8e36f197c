"""Shot evaluation: the warping error per frame pair, sharpness, ``neuralstyle eval-shot`` and its
report (metrics.warping_errors, metrics.sharpness, eval_shot.py, report.write_shot_report)."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from neuralstyle import metrics
from neuralstyle.cli import main
from neuralstyle.errors import InputError
from neuralstyle.io.images import write_image

FRAMES = 5
SHIFT = 2  # px per frame, to the left: an integer pan warps without interpolation


def _pan(photo: np.ndarray) -> dict[str, list[np.ndarray]]:
    """A 64x48 pan across the photograph; a stand-in stylisation that follows it (a tone curve
    and a channel swap), and the same with fresh noise each frame (flicker)."""
    rng = np.random.default_rng(5)
    shots: dict[str, list[np.ndarray]] = {"src": [], "steady": [], "flicker": []}
    for t in range(FRAMES):
        source = photo[40:88, 8 + SHIFT * t : 72 + SHIFT * t]
        steady = np.sqrt(source[..., ::-1] / 255.0)
        flicker = np.clip(steady + rng.normal(0.0, 0.05, steady.shape), 0.0, 1.0)
        for name, image in (("src", source), ("steady", steady), ("flicker", flicker)):
            shots[name].append(image if image.dtype == np.uint8 else _u8(image))
    return shots


def _u8(image: np.ndarray) -> np.ndarray:
    return (image * 255 + 0.5).astype(np.uint8)


@pytest.fixture(scope="module")
def pan(photo: np.ndarray) -> dict[str, list[np.ndarray]]:
    return _pan(photo)


@pytest.fixture(scope="module")
def shot(tmp_path_factory: pytest.TempPathFactory, pan: dict[str, list[np.ndarray]]) -> Path:
    """src, steady and flicker as ``NAME.####.png`` (frames 1-5); short (frames 1-4), small
    (32x24) and a still, ``still.png``."""
    folder = tmp_path_factory.mktemp("shot")
    for name, frames in pan.items():
        for t, image in enumerate(frames, start=1):
            write_image(folder / f"{name}.{t:04d}.png", image)
    for t, image in enumerate(pan["steady"], start=1):
        write_image(folder / f"small.{t:04d}.png", np.ascontiguousarray(image[:24, :32]))
        if t < FRAMES:
            write_image(folder / f"short.{t:04d}.png", image)
    write_image(folder / "still.png", pan["src"][0])
    return folder


@pytest.fixture
def in_shot(shot: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shot's folder, made the current one: messages name its files as given."""
    monkeypatch.chdir(shot)
    return shot


def _eval(shot: Path, *argv: str) -> int:
    words = [str(shot / a) if "." in a and not a.startswith("-") else a for a in argv]
    return main(["eval-shot", *words])


# --- metrics -----------------------------------------------------------------------------------


def test_warping_errors_are_the_pairs_of_warping_error(pan: dict[str, list[np.ndarray]]) -> None:
    sources, flicker = pan["src"], pan["flicker"]
    errors = metrics.warping_errors(flicker, sources)
    assert len(errors) == FRAMES - 1 and min(errors) > 0
    assert metrics.warping_error(flicker, sources) == pytest.approx(np.mean(errors), rel=1e-12)
    # a pair measured on its own, with its sources' motion, is the same E_t
    motion = metrics.source_motion(sources[1], sources[2])
    assert metrics.pair_warping_error(flicker[1], flicker[2], motion) == errors[1]
    with pytest.raises(InputError, match="at least 2"):
        metrics.warping_errors(flicker[:1], sources[:1])


def test_the_warping_residual_shows_where_a_result_flickers(
    pan: dict[str, list[np.ndarray]],
) -> None:
    motion = metrics.source_motion(pan["src"][0], pan["src"][1])
    steady = metrics.warping_residual(pan["steady"][0], pan["steady"][1], motion)
    flicker = metrics.warping_residual(pan["flicker"][0], pan["flicker"][1], motion)
    assert steady.shape == flicker.shape == (48, 64, 3) and steady.dtype == np.float32
    inside = motion.weight[0, 0].numpy() > 0.5
    assert steady[inside].mean() < 0.01 < flicker[inside].mean()
    # frame t's left columns have left the frame by t + 1: nothing to warp from, masked out
    assert not inside[:, :SHIFT].any() and np.all(flicker[:, :SHIFT] == 0)
    with pytest.raises(InputError, match="the motion is 64x48"):
        metrics.warping_residual(pan["flicker"][0][:24], pan["flicker"][1][:24], motion)


def test_sharpness_is_the_mean_luma_gradient(pan: dict[str, list[np.ndarray]]) -> None:
    from scipy import ndimage

    image = pan["src"][2]
    luma = image.astype(np.float32).mean(axis=2) / 255  # benchmarks/bm_temporal.py's definition
    assert metrics.sharpness(image) == pytest.approx(float(np.hypot(*np.gradient(luma)).mean()))
    soft = ndimage.gaussian_filter(image / 255.0, (1.5, 1.5, 0))
    assert metrics.sharpness(soft) < 0.7 * metrics.sharpness(image)
    with pytest.raises(InputError, match="at least 2x2"):
        metrics.sharpness(image[:1])


def test_display_rgb_is_what_eval_compares() -> None:
    grey = np.array([[[0], [255]]], np.uint8)
    assert metrics.display_rgb(grey, False).tolist() == [[[0.0] * 3, [1.0] * 3]]
    # scene-linear float, premultiplied: alpha undone, then sRGB-encoded (0.214 is mid grey)
    linear = np.array([[[0.107, 0.107, 0.107, 0.5]]], np.float32)
    out = metrics.display_rgb(linear, True)
    assert out.shape == (1, 1, 3) and out.dtype == np.float32
    assert out[0, 0] == pytest.approx([0.5] * 3, abs=2e-3)


# --- neuralstyle eval-shot ---------------------------------------------------------------------


def test_eval_shot_scores_flicker_above_a_steady_render(
    shot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _eval(shot, "src.####.png", "flicker.####.png", "--compare", "steady.####.png",
                 "--json") == 0  # fmt: skip
    numbers = json.loads(capsys.readouterr().out)
    assert numbers["frames"] == [1, 2, 3, 4, 5]
    result, other = numbers["result"], numbers["compare"]
    assert len(result["warping_errors"]) == len(other["warping_errors"]) == FRAMES - 1
    assert result["warping_error"] > 20 * other["warping_error"]
    assert numbers["sources"]["warping_error"] < other["warping_error"] + 1e-4  # the floor
    assert result["sharpness"] > other["sharpness"] > 0  # noise adds gradient
    assert numbers["ratio"]["warping_error"] == pytest.approx(
        result["warping_error"] / other["warping_error"]
    )
    # the command's numbers are the metrics' own
    assert result["warping_error"] == pytest.approx(
        metrics.warping_error(
            [np.asarray(Image.open(shot / f"flicker.{t:04d}.png")) for t in range(1, 6)],
            [np.asarray(Image.open(shot / f"src.{t:04d}.png")) for t in range(1, 6)],
        ),
        rel=1e-6,
    )
    # without --json: the means, one line per shot, then the ratio
    assert _eval(shot, "src.####.png", "flicker.####.png", "--compare", "steady.####.png") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "frames 1-5: 4 pairs"
    assert [line.split()[0] for line in lines[1:4]] == ["sources", "result", "compare"]
    assert f"warping error {result['warping_error']:.6f}" in lines[2]
    assert lines[4].startswith("result / compare: warping error ")


def test_eval_shot_measures_a_part_with_frames(
    shot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _eval(shot, "src.####.png", "short.####.png", "--frames", "2-4", "--json") == 0
    numbers = json.loads(capsys.readouterr().out)
    assert numbers["frames"] == [2, 3, 4] and len(numbers["result"]["warping_errors"]) == 2
    assert "compare" not in numbers and "ratio" not in numbers


def _data_images(page: str) -> list[Image.Image]:
    found = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    return [Image.open(io.BytesIO(base64.b64decode(data))) for data in found]


def test_eval_shot_writes_html_and_png_reports(
    shot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["src.####.png", "flicker.####.png", "--compare", "steady.####.png"]
    assert _eval(shot, *argv, "-o", str(tmp_path / "shot.html")) == 0
    page = (tmp_path / "shot.html").read_text()
    assert "Warping error per frame" in page and "result / compare" in page
    plot, sheet = _data_images(page)
    assert plot.width >= 760 and plot.height == 320
    # 4 pairs: 4 rows of 160 px tiles; columns source, 2 results and their 2 residuals
    assert sheet.height > 4 * 160 and sheet.width > 5 * 160 * 64 / 48
    assert _eval(shot, *argv, "-o", str(tmp_path / "shot.png")) == 0
    with Image.open(tmp_path / "shot.png") as png:
        assert png.format == "PNG" and png.width == sheet.width
        assert png.height > plot.height + sheet.height
    capsys.readouterr()


def test_eval_shot_reads_a_video(
    shot: Path, tmp_path: Path, pan: dict[str, list[np.ndarray]], capsys: pytest.CaptureFixture[str]
) -> None:
    from neuralstyle.io.video import VideoWriter

    with VideoWriter(tmp_path / "plate.mp4", 24) as writer:
        for frame in pan["src"]:
            writer.write(frame)
    plate = str(tmp_path / "plate.mp4")
    assert main(["eval-shot", plate, str(shot / "flicker.####.png"), "--compare",
                 str(shot / "steady.####.png"), "--json"]) == 0  # fmt: skip
    numbers = json.loads(capsys.readouterr().out)
    assert numbers["frames"] == [1, 2, 3, 4, 5] and numbers["ratio"]["warping_error"] > 5


@pytest.mark.parametrize(
    ("argv", "status", "words"),
    [
        ("src.####.png flicker.####.png --frames 1", 2, "at least 2 frames to measure, got 1"),
        ("src.####.png short.####.png", 2, "has 4 frames (1-4) but the sources have 5 (1-5)"),
        ("src.####.png small.####.png", 2, "is 32x24 but the sources are 64x48"),
        ("src.####.png none.####.png", 4, "cannot read the result none.####.png: no frames"),
        ("none.####.png src.####.png", 4, "cannot read the sources none.####.png: no frames"),
        ("src.####.png short.####.png --frames 3-5", 4, "the result short.####.png: no frame 5"),
        ("src.####.png still.png", 2, "the result still.png is one image, not a shot"),
        ("src.####.png steady.####.png -o r.jpg", 2, "a report is a .html or .png file"),
        ("src.####.png steady.####.png -o src.0002.png", 2, "would overwrite the sources"),
        ("src.####.png steady.####.png --compare x.mp4", 4, "cannot read video"),
    ],
)
def test_eval_shot_errors_are_one_line(
    in_shot: Path, capsys: pytest.CaptureFixture[str], argv: str, status: int, words: str
) -> None:
    shot = in_shot
    before = sorted(p.name for p in shot.iterdir())
    assert main(["eval-shot", *argv.split()]) == status
    out = capsys.readouterr()
    assert len(out.err.splitlines()) == 1 and out.err.startswith("neuralstyle: error: ")
    assert words in out.err and out.out == ""
    assert sorted(p.name for p in shot.iterdir()) == before  # no report, no temporary file
