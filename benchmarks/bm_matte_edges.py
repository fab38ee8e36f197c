"""The rim inside a cut-out's matte edge (issue 15, item 12), on a panel of photographs and styles.

    PYTHONPATH=python .venv/bin/python benchmarks/bm_matte_edges.py [--size 384] [--threads 1]
        [--fill edge-extend|none|linear-light|grey] [--timing]

For each photograph and style: a render of the cut-out (tests/matte_support.py: a wobbly disc
matte with a 3 px ramp, premultiplied scene-linear float, as an EXR holds it) and a render of the
whole photograph cut afterwards by the same matte; :func:`matte_support.rim_metric` compares
them. Variants: styles 1, 19 and 25 on premultiplied float, the same on straight-alpha uint8 (a
PNG, ``premultiplied=False``), a half-resolution proxy (styles 19 and 25), and AdaIN with a
painting (premultiplied float); four photographs each. ``--fill`` swaps the engine's fill of the
colour outside the matte for an ablation: ``none`` is the engine before the fix (the "before"
numbers: the network sees the unpremultiplied 0/0 surround, black), ``linear-light`` the same
pull-push averaged in linear light, ``grey`` a constant mid-grey surround (0.5 encoded).
With ``--timing``, also the time of the edge fill against the network's on one 1920x1080 frame
(method: README.md).

Writes ``benchmarks/results/bm_matte_edges-<UTC time>.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import neuralstyle
from bm_builtin import run_record, summary
from matte_support import (
    cutout,
    depth_inside,
    display_colour,
    photo,
    rim_metric,
    rim_profile,
)
from neuralstyle.engine.edge_extend import edge_extend
from neuralstyle.pixel_encoding import srgb_decode, srgb_encode

RESULTS = Path(__file__).parent / "results"
PHOTOS = ("astronaut", "coffee", "chelsea", "china")
STYLES = (1, 19, 25)  # heavy-outline, night-swirl, mosaic
#: Depth bands (pixels inside the matte edge) of the luma profile.
PROFILE_BANDS = ((1.0, 2.0), (2.0, 3.0), (3.0, 4.0), (4.0, 6.0), (6.0, 8.0), (12.0, 16.0))


def _fill_linear_light(encoded: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    return srgb_encode(edge_extend(srgb_decode(encoded), alpha))


def _fill_grey(encoded: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    return torch.lerp(torch.full_like(encoded, 0.5), encoded, alpha.clamp(0.0, 1.0))


#: What the render's fill is replaced with (``--fill``); it gets sRGB-encoded straight colour.
FILLS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "edge-extend": edge_extend,
    "none": lambda encoded, alpha: encoded,
    "linear-light": _fill_linear_light,
    "grey": _fill_grey,
}


def _adain_style(size: int) -> np.ndarray:
    """A painting for AdaIN: the flower photograph in built-in style 16 (violet-strokes)."""
    return neuralstyle.stylize(photo("flower", size), 16, device="cpu")


def _case(name: str, size: int, variant: str, style: int | np.ndarray) -> dict[str, object]:
    """One cut-out and its reference rendered, and the rim metric."""
    # the proxy: the same frame at half resolution, matte and all
    scale = 0.5 if variant == "proxy" else 1.0
    picture = photo(name, round(size * scale))
    cut = cutout(picture)
    if variant == "straight-uint8":
        whole = np.concatenate([picture, np.full_like(picture[..., :1], 255)], axis=-1)
        source, premultiplied = cut.straight, False
    else:
        source, whole, premultiplied = cut.premultiplied, cut.opaque, True

    def render(image: np.ndarray) -> np.ndarray:
        return neuralstyle.stylize(
            image, style, premultiplied=premultiplied, render_scale=scale, device="cpu"
        )

    start = time.perf_counter()
    out, ref = render(source), render(whole)
    seconds = time.perf_counter() - start
    colours = (display_colour(out, premultiplied), display_colour(ref, premultiplied), cut.alpha)
    metric = rim_metric(*colours)
    profile = rim_profile(*colours, PROFILE_BANDS, depth_inside(cut.alpha))
    label = "adain" if isinstance(style, np.ndarray) else f"builtin {style}"
    return {
        "photo": name,
        "style": label,
        "variant": variant,
        "seconds": seconds,
        **metric,
        "profile": profile,
    }


def panel(size: int) -> list[dict[str, object]]:
    cases: list[tuple[str, str, int | np.ndarray]] = [
        (name, "premultiplied-float", s) for name in PHOTOS for s in STYLES
    ]
    cases += [(name, "straight-uint8", s) for name in PHOTOS for s in STYLES]
    cases += [(name, "proxy", s) for name in PHOTOS for s in STYLES[1:]]
    painting = _adain_style(size)
    cases += [(name, "adain-premultiplied-float", painting) for name in PHOTOS]
    rows = []
    for name, variant, style in cases:
        row = _case(name, size, variant, style)
        print(
            f"{row['photo']:10s} {row['style']:11s} {row['variant']:20s} "
            f"rim {row['rim']:+.3f}  error rim {row['error_rim']:.4f} "
            f"interior {row['error_interior']:.4f}",
            flush=True,
        )
        rows.append(row)
    return rows


def medians(rows: list[dict[str, object]]) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Per variant: the median rim, and the median luma profile (printed too)."""
    variants = {
        v: [r for r in rows if r["variant"] == v] for v in dict.fromkeys(r["variant"] for r in rows)
    }
    rims, profiles = {}, {}
    for v, rs in variants.items():
        rims[str(v)] = statistics.median(float(r["rim"]) for r in rs)  # type: ignore[arg-type]
        profiles[str(v)] = np.median([r["profile"] for r in rs], axis=0).round(4).tolist()
        bands = " ".join(
            f"{lo:g}-{hi:g}:{m:.3f}"
            for (lo, hi), m in zip(PROFILE_BANDS, profiles[str(v)], strict=True)
        )
        print(f"{v!s:20s} median rim {rims[str(v)]:+.4f}  profile {bands}")
    return rims, profiles


def fill_timing(repeats: int) -> dict[str, object]:
    """The edge fill against the built-in network on one 1920x1080 cut-out, interleaved."""
    from neuralstyle.methods.builtin import load_builtin
    from neuralstyle.models.styles import style_weights

    cut = cutout(photo("astronaut", 1080))
    pad = np.zeros((1080, 420, 4), dtype=np.float32)  # 1080 x 1920, the matte off-centre
    frame = np.concatenate([pad, cut.premultiplied, pad], axis=1)
    planar = torch.from_numpy(np.ascontiguousarray(frame.transpose(2, 0, 1)))
    encoded = srgb_encode((planar[:3] / planar[3].clamp_min(1e-6)).clamp(0.0, 1.0))
    model, weights = load_builtin(torch.device("cpu")), style_weights(0)
    runners: dict[str, Callable[[], object]] = {
        "edge_extend": lambda: edge_extend(encoded, planar[3]),
        "network": lambda: model(encoded[None], weights),
    }
    samples: dict[str, list[float]] = {name: [] for name in runners}
    with torch.inference_mode():
        for run in runners.values():
            run()  # warm-up
        for _ in range(repeats):
            for name, run in runners.items():
                start = time.perf_counter()
                run()
                samples[name].append(time.perf_counter() - start)
    return {name: summary(s) for name, s in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=384, help="side of the square panel images")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--fill", choices=tuple(FILLS), default="edge-extend")
    parser.add_argument("--timing", action="store_true", help="also time the fill at 1080p")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.fill != "edge-extend":
        from neuralstyle.engine import pipeline

        pipeline.edge_extend = FILLS[args.fill]  # type: ignore[assignment]

    load_before = os.getloadavg()
    rows = panel(args.size)
    timing = fill_timing(args.repeats) if args.timing else None
    load_after = os.getloadavg()
    rims, profiles = medians(rows)
    if timing is not None:
        for name, t in timing.items():
            print(f"1080p {name}: median {t['median_s']:.4f} s (min {t['min_s']:.4f})")

    now = dt.datetime.now(dt.UTC)
    result = {
        **run_record("bm_matte_edges", args.threads, load_before[0], load_after[0], now),
        "versions": {"python": platform.python_version(), "torch": torch.__version__},
        "size": args.size,
        "fill": args.fill,
        "profile_bands": PROFILE_BANDS,
        "median_rim": rims,
        "median_profile": profiles,
        "rows": rows,
        "fill_timing_1080p": timing,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"bm_matte_edges-{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
