"""Any image: the trained fast network (Ghiasi et al. 2017) against AdaIN, on a panel.

    PYTHONPATH=python .venv/bin/python benchmarks/bm_arbitrary.py [--size 384] [--threads 2]

Panel: 8 photographs (scikit-image and scikit-learn; the fast network never saw them) x 8 styles
(the 4 held-out built-in styles rendered on held-out photographs, 2 more built-in renders, and 2
texture photographs), every pair at ``--size`` on the long side. Methods: ``fast`` (our port, at
the frame's own size), ``onnx`` (the shipped int8 original in onnxruntime at its fixed 384x384:
the frame is resized to it and back), and ``adain``. For each pair and method: SSIM of the result
to the content (structure kept), the style distance of the result over the content's own (mean
relative Gram distance to the style on VGG-19; below 1 moves towards the style), and a border
measure: mean gradient energy in the 16 px band along each edge over the interior's (1 is no
border artefact; AdaIN's streak and bottom band raise it). For fast also the proxy SSIM (render
scale 0.5 against the full render downsampled). Means and medians over the panel, with the worst
case. Timings: one frame at 512x512 and 1920x1080 per method, warm-up, then the median and spread
of 5 interleaved runs.

Writes ``benchmarks/results/bm_arbitrary-<UTC time>.json`` and a contact sheet
``bm_arbitrary-<UTC time>.jpg`` (style | fast | ONNX original | AdaIN per row, half size)
beside it.
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

RESULTS = Path(__file__).parent / "results"
CONTENTS = ("coffee", "flower", "astronaut", "china", "camera", "rocket", "chelsea", "coins")
TEXTURES = ("gravel", "brick")
EXTRA_BUILTIN = ("night-swirl", "bold-primaries")


def _resize(rgb: np.ndarray, long_side: int) -> np.ndarray:
    from skimage import transform

    h, w = rgb.shape[:2]
    s = long_side / max(h, w)
    out = transform.resize(rgb, (max(1, round(h * s)), max(1, round(w * s))), anti_aliasing=True)
    if out.ndim == 2:
        out = np.stack([out] * 3, axis=-1)
    return np.ascontiguousarray((out[..., :3] * 255 + 0.5).astype(np.uint8))


def panel(size: int) -> tuple[list[tuple[str, np.ndarray]], list[tuple[str, np.ndarray]]]:
    by_name = {i.name: i for i in IMAGES}
    contents = [(n, _resize(load_rgb(by_name[n]), size)) for n in CONTENTS]
    with tempfile.TemporaryDirectory() as folder:
        styles = [(n, _resize(s, size)) for n, s in render_builtin_styles("held-out", Path(folder))]
    base = _resize(load_rgb(by_name["chelsea"]), size)
    styles += [(n, neuralstyle.stylize(base, n, device="cpu")) for n in EXTRA_BUILTIN]
    styles += [(n, _resize(load_rgb(by_name[n]), size)) for n in TEXTURES]
    return contents, styles


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


def border_ratio(image: np.ndarray, band: int = 16) -> float:
    """Mean squared gradient in the ``band`` px along the four edges over the interior's."""
    g = image.astype(np.float32).mean(axis=2)
    energy = np.zeros_like(g)
    energy[:, 1:] += np.diff(g, axis=1) ** 2
    energy[1:, :] += np.diff(g, axis=0) ** 2
    inner = np.zeros(g.shape, bool)
    inner[band:-band, band:-band] = True
    return float(energy[~inner].mean() / max(energy[inner].mean(), 1e-9))


def quality(
    contents: list, styles: list, original: OnnxOriginal
) -> tuple[list[dict[str, object]], np.ndarray]:
    rows: list[dict[str, object]] = []
    sheet_rows = []
    for (cname, content), (sname, style) in ((c, s) for c in contents for s in styles):
        row: dict[str, object] = {"content": cname, "style": sname}
        outs = {}
        for method in ("fast", "onnx", "adain"):
            if method == "onnx":
                out = original(content, style)
            else:
                out = neuralstyle.stylize(content, style, method=method, device="cpu")
            n = metrics.evaluate(content, style, out, device="cpu")
            row[f"{method}_ssim"] = n["ssim"]
            row[f"{method}_style_ratio"] = n["style_distance"] / n["style_distance_content"]
            row[f"{method}_ssi_gain"] = n["ssi"] - n["ssi_content"]
            row[f"{method}_border"] = border_ratio(out)
            outs[method] = out
        row["content_border"] = border_ratio(content)
        half = (_downsample(content) * 255 + 0.5).astype(np.uint8)
        proxy = neuralstyle.stylize(half, style, method="fast", render_scale=0.5, device="cpu")
        row["fast_proxy_ssim"] = metrics.ssim(
            proxy.astype(np.float32) / 255, _downsample(outs["fast"])
        )
        rows.append(row)
        if cname == contents[0][0] or sname == styles[0][0]:
            h = content.shape[0]
            sh, sw = style.shape[:2]
            thumb = _resize(style, round(h * max(sh, sw) / sh))[:h, : content.shape[1]]
            thumb = np.pad(
                thumb, ((0, h - thumb.shape[0]), (0, content.shape[1] - thumb.shape[1]), (0, 0))
            )
            row_images = [thumb, outs["fast"], outs["onnx"], outs["adain"]]
            sheet_rows.append(np.concatenate(row_images, axis=1))
    width = max(r.shape[1] for r in sheet_rows)
    sheet = np.concatenate(
        [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in sheet_rows], axis=0
    )
    return rows, sheet


def summarise(rows: list[dict[str, object]]) -> dict[str, dict[str, float]]:
    """Mean, median and worst case of every number over the panel."""
    summary = {}
    metrics_ = ("ssim", "style_ratio", "ssi_gain", "border")
    keys = [f"{m}_{k}" for m in ("fast", "onnx", "adain") for k in metrics_]
    for key in [*keys, "content_border", "fast_proxy_ssim"]:
        values = [float(r[key]) for r in rows]  # type: ignore[arg-type]
        higher_is_worse = "ratio" in key or "border" in key
        summary[key] = {
            "mean": statistics.fmean(values),
            "median": statistics.median(values),
            "worst": max(values) if higher_is_worse else min(values),
        }
    return summary


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
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import os

    load_before = os.getloadavg()[0]
    contents, styles = panel(args.size)
    rows, sheet = quality(contents, styles, OnnxOriginal())
    times = timings(args.threads, args.repeats)
    summary = summarise(rows)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    RESULTS.mkdir(exist_ok=True)
    result = {
        **environment(),
        "threads": args.threads,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "size": args.size,
        "pairs": len(rows),
        "summary": summary,
        "timings": times,
        "rows": rows,
    }
    path = RESULTS / f"bm_arbitrary-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    # Half size, JPEG: the full-size PNG of 96 pairs is 13 MB, too much to keep in the repository.
    h, w = sheet.shape[0] // 2 * 2, sheet.shape[1] // 2 * 2
    half = sheet[:h, :w].reshape(h // 2, 2, w // 2, 2, 3).mean(axis=(1, 3))
    write_image(RESULTS / f"bm_arbitrary-{stamp}.jpg", (half + 0.5).astype(np.uint8))
    for key, value in summary.items():
        print(
            f"{key:20s} mean {value['mean']:.3f}  median {value['median']:.3f}  "
            f"worst {value['worst']:.3f}"
        )
    for key, value in times.items():
        print(f"{key:20s} {value['median_s']:.3f} s  [{value['min_s']:.3f}, {value['max_s']:.3f}]")
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
