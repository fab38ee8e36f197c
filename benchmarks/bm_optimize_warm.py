"""Optimisation warm starts for shots: does starting each frame's optimisation from the previous
frame's result, moved onto it by the optical flow, steady the shot or save time? (Issue 10:
"offer the warped neighbour as the start image where it measurably helps".)

    PYTHONPATH=python .venv/bin/python benchmarks/bm_optimize_warm.py [--frames 8]

Method. Each clip is stylised frame by frame by
:func:`neuralstyle.methods.optimize.stylize_optimize` (the "draft" preset's 60 evaluations,
L-BFGS, VGG-19) with one painting (a built-in style rendered on a held-out photograph, as
:mod:`bm_temporal`), three ways:

- ``alone``: every frame from its own content (the product today);
- ``warm``: frame 1 alone; every later frame starts from the previous frame's result warped onto
  it by the backward flow on the sources (:func:`neuralstyle.temporal.flow.flow_between`), the
  content where the flow is not trusted; the same 60 evaluations;
- ``warm-30``: the same with 30 evaluations (half the time).

Measured per variant: warping error of the raw results and after the product's consolidation
(K = 2), style distance to the painting and SSIM to the content (means over the frames), and
seconds per frame. Clips: the 256x192 pan and the first frames of ``carphone_pristine.mp4``
(176x144), both below the optimisation's first pyramid halving, so one level runs either way.

Writes ``benchmarks/results/bm_optimize_warm-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from bm_farm import environment, write_result
from bm_temporal import eight_bit, held_out_painting, pan, picture, real_clip, steadied
from neuralstyle import metrics
from neuralstyle.methods.optimize import OptimizeSettings, stylize_optimize
from neuralstyle.temporal.flow import flow_between
from neuralstyle.temporal.warp import warp


def planar(image: np.ndarray) -> torch.Tensor:
    values = np.ascontiguousarray(image, dtype=np.float32) / 255
    return torch.from_numpy(values).permute(2, 0, 1)[None].contiguous()


def run(
    sources: list[np.ndarray], painting: np.ndarray, *, warm: bool, steps: int
) -> tuple[list[np.ndarray], list[float]]:
    settings = OptimizeSettings.for_quality("draft", steps=steps)
    style = planar(painting)
    outs: list[np.ndarray] = []
    seconds = []
    for t, source in enumerate(sources):
        content = planar(source)
        start = None
        if warm and t > 0:
            flow = flow_between(source, sources[t - 1])
            vectors = torch.from_numpy(flow.vectors).permute(2, 0, 1)[None]
            trust = torch.from_numpy(flow.confidence)[None, None]
            moved = warp(planar(outs[-1]), vectors)
            start = trust * moved + (1 - trust) * content
        began = time.perf_counter()
        out = stylize_optimize(content, [style], settings=settings, progress=False, start=start)
        seconds.append(time.perf_counter() - began)
        outs.append(picture(out.detach()))
    return outs, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    n = parser.parse_args().frames
    load_before = os.getloadavg()[0]
    env = environment()
    torch.set_num_threads(2)
    painting = held_out_painting()
    clips = {"pan": pan(n, 192, 256), "carphone": real_clip("carphone_pristine.mp4", n)}
    rows = []
    for clip, frames in clips.items():
        sources = eight_bit(frames)
        for variant, warm, steps in (
            ("alone", False, 60),
            ("warm", True, 60),
            ("warm-30", True, 30),
        ):
            outs, seconds = run(sources, painting, warm=warm, steps=steps)
            row = {
                "clip": clip,
                "variant": variant,
                "steps": steps,
                "warping_error_raw": metrics.warping_error(outs, sources),
                "warping_error_steadied": metrics.warping_error(steadied(outs, sources), sources),
                "style_distance": statistics.fmean(
                    metrics.style_distance(o, painting)["mean"] for o in outs
                ),
                "ssim": statistics.fmean(
                    metrics.ssim(o, s) for o, s in zip(outs, sources, strict=True)
                ),
                "seconds_per_frame": statistics.fmean(seconds),
                "seconds": seconds,
            }
            rows.append(row)
            print(
                {
                    k: round(v, 4) if isinstance(v, float) else v
                    for k, v in row.items()
                    if k != "seconds"
                },
                flush=True,
            )
    write_result("bm_optimize_warm", env, load_before, {"frames": n, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
