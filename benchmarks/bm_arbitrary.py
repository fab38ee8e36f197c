"""Any image, side by side: every method on one panel of photographs and paintings.

    PYTHONPATH=python .venv/bin/python benchmarks/bm_arbitrary.py          # all methods, 48 pairs
    PYTHONPATH=python .venv/bin/python benchmarks/bm_arbitrary.py \
        --methods fast onnx adain --styles all --size 384                  # feed-forward, 96 pairs

Panel: 8 photographs (scikit-image and scikit-learn; no network here was trained on them) x the
styles: ``all`` is 12 (the 4 held-out built-in styles rendered on the 2 held-out photographs, 2
more built-in renders, 2 texture photographs), ``six`` one render of each held-out built-in
style, ``night-swirl`` and ``gravel``. Every pair at ``--size`` on the long side.

Methods, in one run on the same inputs:

- ``builtin``: the built-in network with the style the painting was rendered with (only on the
  pairs whose style is a built-in render: its reference point, not a competitor);
- ``fast``: our port of Ghiasi et al. 2017 at the frame's own size;
- ``onnx``: the shipped int8 original in onnxruntime at its fixed 384x384 (the frame is resized
  to it and back);
- ``adain``: Huang & Belongie 2017 with our decoder;
- ``optimize``: our optimisation, ``--steps`` loss evaluations, at ``--style-weights`` (more than
  one traces its trade-off curve; the default 30 is the product's);
- ``gatys``: the plain reference Gatys (``reference_gatys.py``: neural-style's layers, weights and
  L-BFGS), the same number of evaluations.

For each pair and method: SSIM of the result to the content (structure kept), the style
distance of the result over the content's own (mean relative Gram distance to the style at the
working size on VGG-19; below 1 moves towards the style), the SSI gain over the content's, and a
border measure: mean gradient energy in the 16 px band along each edge over the interior's (1 is
no border artefact; AdaIN's streak and bottom band raise it). For fast also the proxy SSIM
(render scale 0.5 against the full render downsampled). Means, medians and worst cases over the
panel. The optimisation is judged by Pareto: where the reference's mean SSIM falls on our curve
(linear between the two nearest style weights), our style distance there against the
reference's. Timings (``--timings``): fast and AdaIN at 512x512 and 1920x1080, warm-up, then the
median and spread of interleaved runs.

Writes ``benchmarks/results/bm_arbitrary-<UTC time>.json`` and a contact sheet
``bm_arbitrary-<UTC time>.jpg`` (style | each method per row, half size) beside it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import neuralstyle
from bm_farm import environment
from neuralstyle import metrics
from neuralstyle.io.images import write_image
from neuralstyle.training.data import IMAGES, load_rgb, render_builtin_styles
from reference_gatys import reference_gatys

RESULTS = Path(__file__).parent / "results"
CONTENTS = ("coffee", "flower", "astronaut", "china", "camera", "rocket", "chelsea", "coins")
TEXTURES = ("gravel", "brick")
EXTRA_BUILTIN = ("night-swirl", "bold-primaries")
SIX = (
    "builtin-22-flower",
    "builtin-23-coffee",
    "builtin-24-flower",
    "builtin-25-coffee",
    "night-swirl",
    "gravel",
)
METHODS = ("builtin", "fast", "onnx", "adain", "optimize", "gatys")
NUMBERS = ("ssim", "style_ratio", "ssi_gain", "border")


def _resize(rgb: np.ndarray, long_side: int) -> np.ndarray:
    from skimage import transform

    h, w = rgb.shape[:2]
    s = long_side / max(h, w)
    out = transform.resize(rgb, (max(1, round(h * s)), max(1, round(w * s))), anti_aliasing=True)
    if out.ndim == 2:
        out = np.stack([out] * 3, axis=-1)
    return np.ascontiguousarray((out[..., :3] * 255 + 0.5).astype(np.uint8))


def panel(
    size: int, which: str
) -> tuple[list[tuple[str, np.ndarray]], list[tuple[str, np.ndarray]]]:
    by_name = {i.name: i for i in IMAGES}
    contents = [(n, _resize(load_rgb(by_name[n]), size)) for n in CONTENTS]
    with tempfile.TemporaryDirectory() as folder:
        styles = [(n, _resize(s, size)) for n, s in render_builtin_styles("held-out", Path(folder))]
    base = _resize(load_rgb(by_name["chelsea"]), size)
    styles += [(n, neuralstyle.stylize(base, n, device="cpu")) for n in EXTRA_BUILTIN]
    styles += [(n, _resize(load_rgb(by_name[n]), size)) for n in TEXTURES]
    if which == "six":
        styles = [s for s in styles if s[0] in SIX]
    return contents, styles


def builtin_style(name: str) -> str | int | None:
    """The built-in style a panel style was rendered with, if it was."""
    if name.startswith("builtin-"):
        return int(name.split("-")[1])
    return name if name in EXTRA_BUILTIN else None


def _downsample(image: np.ndarray) -> np.ndarray:
    t = torch.from_numpy(image.astype(np.float32) / 255).permute(2, 0, 1)[None]
    h, w = image.shape[0] // 2, image.shape[1] // 2
    out = torch.nn.functional.interpolate(t[..., : h * 2, : w * 2], size=(h, w), mode="area")
    return np.ascontiguousarray(out[0].permute(1, 2, 0).numpy())


class OnnxOriginal:
    """The shipped int8 predictor and transformer in onnxruntime, as their authors run them."""

    def __init__(self) -> None:
        import onnxruntime as ort

        from neuralstyle.models.arbitrary_weights import locate_sources

        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        predict, transform = locate_sources()
        self.predict = ort.InferenceSession(
            str(predict), options, providers=["CPUExecutionProvider"]
        )
        self.transform = ort.InferenceSession(
            str(transform), options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, content: np.ndarray, style: np.ndarray) -> np.ndarray:
        from skimage import transform

        def square(rgb: np.ndarray, side: int) -> np.ndarray:
            out = transform.resize(rgb, (side, side), anti_aliasing=True).astype(np.float32)
            return out[None]

        vector = self.predict.run(None, {"style_image": square(style, 256)})[0]
        feeds = {"content_image": square(content, 384), self.transform.get_inputs()[1].name: vector}
        out = self.transform.run(None, feeds)[0][0]
        back = transform.resize(out, content.shape[:2], anti_aliasing=True)
        return np.ascontiguousarray((np.clip(back, 0, 1) * 255 + 0.5).astype(np.uint8))


def render(
    method: str, content: np.ndarray, sname: str, style: np.ndarray, args: argparse.Namespace
) -> dict[str, np.ndarray]:
    """The results of ``method`` on one pair, by column name (optimisation: one per weight)."""
    if method == "builtin":
        index = builtin_style(sname)
        if index is None:
            return {}
        return {"builtin": neuralstyle.stylize(content, index, device="cpu")}
    if method == "onnx":
        return {"onnx": args.original(content, style)}
    if method == "gatys":
        return {"gatys": reference_gatys(content, style, steps=args.steps)}
    if method == "optimize":
        return {
            f"optimize_sw{w:g}": neuralstyle.stylize(
                content,
                style,
                method="optimize",
                steps=args.steps,
                style_weight=w,
                device="cpu",
            )
            for w in args.style_weights
        }
    return {method: neuralstyle.stylize(content, style, method=method, device="cpu")}


def quality(
    contents: list, styles: list, args: argparse.Namespace
) -> tuple[list[dict[str, object]], np.ndarray]:
    rows: list[dict[str, object]] = []
    sheet_rows = []
    for (cname, content), (sname, style) in ((c, s) for c in contents for s in styles):
        row: dict[str, object] = {"content": cname, "style": sname}
        outs: dict[str, np.ndarray] = {}
        for method in args.methods:
            for column, out in render(method, content, sname, style, args).items():
                n = metrics.evaluate(content, style, out, device="cpu")
                row[f"{column}_ssim"] = n["ssim"]
                row[f"{column}_style_ratio"] = n["style_distance"] / n["style_distance_content"]
                row[f"{column}_ssi_gain"] = n["ssi"] - n["ssi_content"]
                row[f"{column}_border"] = metrics.border_ratio(out)
                outs[column] = out
        row["content_border"] = metrics.border_ratio(content)
        if "fast" in outs:
            half = (_downsample(content) * 255 + 0.5).astype(np.uint8)
            proxy = neuralstyle.stylize(half, style, method="fast", render_scale=0.5, device="cpu")
            row["fast_proxy_ssim"] = metrics.ssim(
                proxy.astype(np.float32) / 255, _downsample(outs["fast"])
            )
        rows.append(row)
        print(cname, sname, " ".join(f"{k}={v:.3f}" for k, v in row.items() if "ssim" in k))
        if cname == contents[0][0] or sname == styles[0][0]:
            h, w = content.shape[:2]
            sh, sw = style.shape[:2]
            thumb = _resize(style, round(h * max(sh, sw) / sh))[:h, :w]
            thumb = np.pad(thumb, ((0, h - thumb.shape[0]), (0, w - thumb.shape[1]), (0, 0)))
            columns = [c for c in _columns(args) if c != "builtin"] + ["builtin"]
            blank = np.zeros_like(content)
            row_images = [thumb, *(outs.get(c, blank) for c in columns)]
            sheet_rows.append(np.concatenate(row_images, axis=1))
    width = max(r.shape[1] for r in sheet_rows)
    sheet = np.concatenate(
        [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in sheet_rows], axis=0
    )
    return rows, sheet


def _columns(args: argparse.Namespace) -> list[str]:
    out = []
    for m in args.methods:
        out += [f"optimize_sw{w:g}" for w in args.style_weights] if m == "optimize" else [m]
    return out


def summarise(rows: list[dict[str, object]], columns: list[str]) -> dict[str, dict[str, float]]:
    """Mean, median and worst case of every number over the pairs that have it."""
    summary = {}
    keys = [f"{c}_{k}" for c in columns for k in NUMBERS]
    for key in [*keys, "content_border", "fast_proxy_ssim"]:
        values = [float(r[key]) for r in rows if key in r]  # type: ignore[arg-type]
        if not values:
            continue
        higher_is_worse = "ratio" in key or "border" in key
        summary[key] = {
            "mean": statistics.fmean(values),
            "median": statistics.median(values),
            "worst": max(values) if higher_is_worse else min(values),
            "pairs": len(values),
        }
    return summary


def pareto(summary: dict[str, dict[str, float]], weights: list[float]) -> dict[str, float] | None:
    """Our optimisation's style ratio at the reference Gatys's mean SSIM, on the line through
    the two of our points (by style weight) whose SSIM is nearest to it."""
    if "gatys_ssim" not in summary or not weights:
        return None
    points = sorted(
        (
            summary[f"optimize_sw{w:g}_ssim"]["mean"],
            summary[f"optimize_sw{w:g}_style_ratio"]["mean"],
        )
        for w in weights
    )
    ref_ssim = summary["gatys_ssim"]["mean"]
    ref_ratio = summary["gatys_style_ratio"]["mean"]
    if len(points) == 1:
        ours = points[0][1] if points[0][0] >= ref_ssim else float("nan")
    else:
        pair = sorted(points, key=lambda p: abs(p[0] - ref_ssim))[:2]
        (s0, r0), (s1, r1) = sorted(pair)
        ours = r0 + (r1 - r0) * (ref_ssim - s0) / (s1 - s0) if s1 != s0 else min(r0, r1)
    return {
        "gatys_ssim": ref_ssim,
        "gatys_style_ratio": ref_ratio,
        "optimize_style_ratio_at_gatys_ssim": ours,
        "ratio": ours / ref_ratio,
    }


def timings(threads: int, repeats: int) -> dict[str, dict[str, float]]:
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    style = (rng.random((256, 256, 3)) * 255).astype(np.uint8)
    out: dict[str, dict[str, float]] = {}
    for w, h in ((512, 512), (1920, 1080)):
        frame = (rng.random((h, w, 3)) * 255).astype(np.uint8)
        samples: dict[str, list[float]] = {"fast": [], "adain": []}
        for method in samples:  # warm-up: weights, kernels
            neuralstyle.stylize(frame, style, method=method, device="cpu")
        for _ in range(repeats):
            for method, times in samples.items():
                start = time.perf_counter()
                neuralstyle.stylize(frame, style, method=method, device="cpu")
                times.append(time.perf_counter() - start)
        for method, times in samples.items():
            out[f"{method}_{w}x{h}"] = {
                "median_s": statistics.median(times),
                "min_s": min(times),
                "max_s": max(times),
            }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--styles", choices=("six", "all"), default="six")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--steps", type=int, default=100, help="optimisation evaluations")
    parser.add_argument("--style-weights", type=float, nargs="+", default=[3.0, 30.0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timings", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import os

    if "onnx" in args.methods:
        args.original = OnnxOriginal()
    load_before = os.getloadavg()[0]
    # Before anything runs: the commit and tree of the code that runs (a run takes an hour).
    env = environment()
    started = time.perf_counter()
    contents, styles = panel(args.size, args.styles)
    rows, sheet = quality(contents, styles, args)
    summary = summarise(rows, _columns(args))
    front = pareto(summary, args.style_weights if "optimize" in args.methods else [])
    times = timings(args.threads, args.repeats) if args.timings else {}
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    RESULTS.mkdir(exist_ok=True)
    result = {
        **env,
        "threads": args.threads,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "seconds": time.perf_counter() - started,
        "size": args.size,
        "styles": [name for name, _ in styles],
        "methods": args.methods,
        "steps": args.steps,
        "style_weights": args.style_weights,
        "pairs": len(rows),
        "summary": summary,
        "pareto": front,
        "timings": times,
        "rows": rows,
    }
    path = RESULTS / f"bm_arbitrary-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    # Half size, JPEG: a full-size PNG of the panel is megabytes, too much for the repository.
    h, w = sheet.shape[0] // 2 * 2, sheet.shape[1] // 2 * 2
    half = sheet[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
    write_image(RESULTS / f"bm_arbitrary-{stamp}.jpg", (half + 0.5).astype(np.uint8))
    for key, value in summary.items():
        print(
            f"{key:28s} mean {value['mean']:.3f}  median {value['median']:.3f}  "
            f"worst {value['worst']:.3f}  ({value['pairs']:.0f} pairs)"
        )
    if front:
        print("pareto", {k: round(v, 3) for k, v in front.items()})
    for key, value in times.items():
        print(f"{key:20s} {value['median_s']:.3f} s  [{value['min_s']:.3f}, {value['max_s']:.3f}]")
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
