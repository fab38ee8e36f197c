"""Acceptance numbers and timings of the optimisation (Gatys) and AdaIN methods.

    python benchmarks/bm_methods.py --out benchmarks/results/bm_methods.json [--device cuda]

What it measures (the issue's acceptance, with the numbers recorded in the JSON):

- optimisation: a 256 px content/style pair; style distance (mean relative Gram distance, VGG-19
  relu1_1..relu5_1) of the initial image (the content) and of the result, their ratio (>= 10
  wanted), and SSIM of the result to the content (>= 0.3 wanted);
- AdaIN with the shipped decoder on every held-out (content, style) pair (images the decoder
  never saw, :mod:`neuralstyle.training.data`): SSI(style, result) against SSI(style, content);
- colour preservation, both methods: mean chroma difference |IQ(result) - IQ(content)| with
  "luminance" and "histogram" against without (< 20 % wanted);
- proxy: SSIM(proxy render at render scale 0.5, full render downsampled) per method (>= 0.9
  wanted): at the library level with :func:`neuralstyle.controls.stroke_plan` in "scaled" and
  "exact" modes, and through the whole engine (``neuralstyle.stylize(..., render_scale=0.5)``,
  each method's own proxy mode) for builtin, adain and optimize (``draft`` quality);
- timings: warm-up, then median and spread of repeated runs (synchronised on CUDA).

Images: scikit-image and scikit-learn photographs and the built-in styles rendered on held-out
photographs, as listed in ``neuralstyle/models/data/DATA.md``. CPU runs use one thread by default
(the development machine is shared); pass ``--threads``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from neuralstyle import metrics
from neuralstyle.controls import resize_image, resize_long_side, rgb_to_yiq, stroke_plan
from neuralstyle.methods.adain import AdaINStylizer, load_adain
from neuralstyle.methods.optimize import OptimizeSettings, stylize_optimize
from neuralstyle.training.data import IMAGES, load_rgb, render_builtin_styles


def _tensor(rgb: np.ndarray, device: str) -> torch.Tensor:
    x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 255
    return x.to(device)


def _np(x: torch.Tensor) -> np.ndarray:
    out: np.ndarray = x[0].detach().permute(1, 2, 0).cpu().float().numpy()
    return out


def _chroma_diff(result: torch.Tensor, content: torch.Tensor) -> float:
    return float((rgb_to_yiq(result)[:, 1:] - rgb_to_yiq(content)[:, 1:]).abs().mean())


def _held_out(
    device: str, folder: Path
) -> tuple[list[tuple[str, torch.Tensor]], list[tuple[str, torch.Tensor]]]:
    contents = [
        (im.name, _tensor(load_rgb(im), device))
        for im in IMAGES
        if im.split == "held-out" and im.role == "content"
    ]
    styles = [
        (im.name, _tensor(load_rgb(im), device))
        for im in IMAGES
        if im.split == "held-out" and im.role == "style"
    ]
    styles += [(n, _tensor(rgb, device)) for n, rgb in render_builtin_styles("held-out", folder)]
    return contents, styles


def _timed(fn: Callable[[], object], repeat: int, device: str) -> dict[str, float]:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "repeat": repeat,
    }


def bench_optimize(device: str, styles_dir: Path, size: int, steps: int) -> dict[str, object]:
    content = resize_long_side(
        _tensor(load_rgb(next(i for i in IMAGES if i.name == "astronaut")), device), size
    )
    styles = render_builtin_styles("held-out", styles_dir)
    full_plan = stroke_plan((size, size), 1.0, 1.0)
    style = resize_long_side(
        _tensor(dict(styles)["builtin-22-flower"], device), full_plan.style_long_side
    )
    settings = OptimizeSettings(steps=steps)  # the defaults: one level at 256 px
    t = time.perf_counter()
    out = stylize_optimize(content, [style], settings=settings, progress=False)
    seconds = time.perf_counter() - t
    c, s, o = _np(content), _np(style), _np(out)
    before = metrics.style_distance(c, s, device=device)["mean"]
    after = metrics.style_distance(o, s, device=device)["mean"]

    # colour preservation at half size (the criterion does not depend on size)
    small_c, small_s = (
        resize_image(content, (size // 2, size // 2)),
        resize_long_side(style, size // 2),
    )
    colour = {}
    for mode in ("none", "luminance", "histogram"):
        r = stylize_optimize(
            small_c,
            [small_s],
            settings=OptimizeSettings(steps=steps // 2),
            preserve_colour=mode,
            progress=False,
        )
        colour[mode] = _chroma_diff(r, small_c)

    # proxy at render scale 0.5: with a two-level pyramid the proxy runs the first level of the
    # full render, and the pyramid term keeps the full render's second level close to it
    pyramid = OptimizeSettings(steps=steps, min_level_size=size // 2)
    full = stylize_optimize(content, [style], settings=pyramid, progress=False)
    plan = stroke_plan((size, size), 0.5, 1.0)
    proxy_c = resize_image(content, plan.working_size)
    proxy_s = resize_long_side(style, plan.style_long_side)
    proxy = stylize_optimize(proxy_c, [proxy_s], settings=pyramid, progress=False)
    full_down = resize_image(full, plan.output_size)
    full_after = metrics.style_distance(_np(full), s, device=device)["mean"]
    return {
        "size": size,
        "steps_per_level": steps,
        "seconds": seconds,
        "style_distance_initial": before,
        "style_distance_final": after,
        "style_distance_ratio": before / after,
        "ssim_to_content": metrics.ssim(o, c),
        "chroma_diff": colour,
        "chroma_ratio_luminance": colour["luminance"] / colour["none"],
        "chroma_ratio_histogram": colour["histogram"] / colour["none"],
        "proxy_ssim_scaled": metrics.ssim(_np(proxy), _np(full_down)),
        "pyramid_style_distance_ratio": before / full_after,
        "pyramid_ssim_to_content": metrics.ssim(_np(full), c),
    }


def bench_adain(device: str, styles_dir: Path, size: int, repeat: int) -> dict[str, object]:
    model: AdaINStylizer = load_adain(device)
    contents, styles = _held_out(device, styles_dir)
    pairs = []
    for cn, content in contents:
        c = resize_long_side(content, size)
        for sn, style in styles:
            if sn.endswith(f"-{cn}"):  # a style rendered from this very photograph: skip
                continue
            s = resize_long_side(style, size)
            o = model(c, [s])
            pairs.append(
                {
                    "content": cn,
                    "style": sn,
                    "ssi_result": metrics.ssi(_np(s), _np(o), device=device),
                    "ssi_content": metrics.ssi(_np(s), _np(c), device=device),
                    "ssim_to_content": metrics.ssim(_np(o), _np(c)),
                    "chroma_none": _chroma_diff(o, c),
                    "chroma_luminance": _chroma_diff(model(c, [s], preserve_colour="luminance"), c),
                    "chroma_histogram": _chroma_diff(model(c, [s], preserve_colour="histogram"), c),
                }
            )
    closer = sum(p["ssi_result"] > p["ssi_content"] for p in pairs)  # type: ignore[operator]

    def mean(key: str) -> float:
        return float(np.mean([p[key] for p in pairs]))

    # proxy: full render of a 2:3 frame vs the scaled proxy at render scale 0.5
    c = resize_long_side(contents[0][1], size)
    s_full = resize_long_side(styles[1][1], size)
    plan = stroke_plan(tuple(c.shape[-2:]), 0.5, 1.0)  # type: ignore[arg-type]
    full = model(c, [s_full])
    proxy = model(
        resize_image(c, plan.working_size), [resize_long_side(s_full, plan.style_long_side)]
    )
    proxy_ssim = metrics.ssim(_np(proxy), _np(resize_image(full, plan.output_size)))
    # "exact" proxies run at the full frame size (AdaIN's recommended mode: it is feed-forward)
    exact = stroke_plan(tuple(c.shape[-2:]), 0.5, 1.0, proxy="exact")  # type: ignore[arg-type]
    proxy_exact = resize_image(
        model(
            resize_image(c, exact.working_size), [resize_long_side(s_full, exact.style_long_side)]
        ),
        exact.output_size,
    )
    proxy_ssim_exact = metrics.ssim(_np(proxy_exact), _np(resize_image(full, plan.output_size)))

    big = resize_long_side(contents[0][1], 512)
    stats = model.style_statistics(resize_long_side(styles[0][1], 512))
    return {
        "size": size,
        "pairs": pairs,
        "pairs_closer_to_style": f"{closer}/{len(pairs)}",
        "mean_ssi_result": mean("ssi_result"),
        "mean_ssi_content": mean("ssi_content"),
        "mean_ssim_to_content": mean("ssim_to_content"),
        "chroma_ratio_luminance": mean("chroma_luminance") / mean("chroma_none"),
        "chroma_ratio_histogram": mean("chroma_histogram") / mean("chroma_none"),
        "proxy_ssim_scaled": proxy_ssim,
        "proxy_ssim_exact": proxy_ssim_exact,
        "time_512": _timed(lambda: model(big, [stats]), repeat, device),
    }


def bench_proxy(device: str, styles_dir: Path, size: int) -> dict[str, object]:
    """SSIM(proxy at render scale 0.5, full render downsampled) through the whole engine
    (:func:`neuralstyle.stylize` with ``render_scale`` and ``frame_size``, as the node calls it,
    each method's own proxy mode); for the feed-forward methods also without ``frame_size`` (the
    frame's odd side then comes out a pixel short); and the naive proxy (the half-size image
    rendered as if it were the frame) for comparison. The host's proxy is the frame box-filtered
    to half size, in 8 bits."""
    import neuralstyle

    photo = load_rgb(next(i for i in IMAGES if i.name == "coffee"))  # held out
    full_in = _np(resize_long_side(_tensor(photo, "cpu"), size))
    half_in = _np(
        resize_image(
            _tensor((full_in * 255).round().astype(np.uint8), "cpu"),
            (full_in.shape[0] // 2, full_in.shape[1] // 2),
        )
    )
    full_u8 = (full_in * 255).round().astype(np.uint8)
    half_u8 = (half_in * 255).round().astype(np.uint8)
    style = dict(render_builtin_styles("held-out", styles_dir))["builtin-22-flower"]
    out: dict[str, object] = {"size": list(full_u8.shape[:2]), "content": "coffee"}
    cases = {
        "builtin": {"style": "mosaic"},
        "adain": {"style": style},
        "optimize": {"style": style, "method": "optimize", "quality": "draft"},
    }
    for name, kwargs in cases.items():
        t = time.perf_counter()
        full = neuralstyle.stylize(full_u8, device=device, **kwargs)  # type: ignore[arg-type]
        frame = (int(full_u8.shape[0]), int(full_u8.shape[1]))
        proxy = neuralstyle.stylize(
            half_u8,
            render_scale=0.5,
            frame_size=frame,
            device=device,
            **kwargs,  # type: ignore[arg-type]
        )
        naive = neuralstyle.stylize(half_u8, device=device, **kwargs)  # type: ignore[arg-type]
        down = _np(resize_image(_tensor(full, "cpu"), proxy.shape[:2]))

        def score(image: np.ndarray, down: np.ndarray = down) -> float:
            return metrics.ssim(image.astype(np.float32) / 255, down)

        derived = {}
        if name != "optimize":  # another 8-minute optimisation on this CPU
            guess = neuralstyle.stylize(half_u8, render_scale=0.5, device=device, **kwargs)  # type: ignore[arg-type]
            derived = {"proxy_ssim_without_frame_size": score(guess)}
        out[name] = {
            "proxy_ssim": score(proxy),
            **derived,
            "naive_ssim": score(naive),
            "seconds": time.perf_counter() - t,
            **({"quality": "draft"} if name == "optimize" else {}),
        }
        print(name, json.dumps(out[name]), flush=True)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/bm_methods.json"))
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--steps", type=int, default=200, help="optimisation steps per pyramid level")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--only", choices=("optimize", "adain", "proxy"), default=None)
    p.add_argument("--proxy-size", type=int, default=512, help="frame long side of the proxy test")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    result: dict[str, object] = {
        "command": " ".join(["python", *sys.argv]),
        "commit": commit or "uncommitted",
        "device": torch.cuda.get_device_name()
        if a.device == "cuda"
        else platform.processor() or "cpu",
        "threads": a.threads,
        "torch": torch.__version__,
    }
    with tempfile.TemporaryDirectory() as tmp:
        if a.only in (None, "adain"):
            adain = bench_adain(a.device, Path(tmp), a.size, a.repeat)
            result["adain"] = adain
            summary = {k: v for k, v in adain.items() if k != "pairs"}
            print(json.dumps(summary, indent=1), flush=True)
        if a.only in (None, "optimize"):
            result["optimize"] = bench_optimize(a.device, Path(tmp), a.size, a.steps)
            print(json.dumps(result["optimize"], indent=1), flush=True)
        if a.only in (None, "proxy"):
            result["proxy"] = bench_proxy(a.device, Path(tmp), a.proxy_size)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
