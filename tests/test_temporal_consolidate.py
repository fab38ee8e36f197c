"""Consolidation: the mean of redrawn strokes gets its contrast back, a moving object leaves no
ghost, and a picture the neighbours agree on is left as it is."""

from __future__ import annotations

import numpy as np
import torch

from neuralstyle.temporal.consolidate import MAX_GAIN, Neighbour, consolidate, keep_detail


def _detail_energy(x: torch.Tensor) -> float:
    from neuralstyle.temporal.consolidate import _blur

    return float((x - _blur(x)).square().mean())


def test_agreeing_neighbours_change_nothing() -> None:
    own = torch.rand(1, 3, 40, 56, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(keep_detail(own, own), own, atol=1e-6, rtol=0)


def test_the_mean_of_five_redrawn_patterns_gets_its_detail_energy_back() -> None:
    g = torch.Generator().manual_seed(1)
    base = torch.linspace(0, 1, 64).repeat(3, 48, 1)[None]
    strokes = [base + 0.2 * torch.rand(1, 3, 48, 64, generator=g) for _ in range(5)]
    mean = torch.stack(strokes).mean(0)
    own = strokes[2]
    kept = keep_detail(mean, own)
    assert _detail_energy(mean) < 0.3 * _detail_energy(own)  # the mean alone is soft
    assert abs(_detail_energy(kept) / _detail_energy(own) - 1) < 0.15
    # the low frequencies are the mean's: the picture underneath does not move
    assert float((kept - mean).mean().abs()) < 1e-3
    assert float((kept - mean).abs().max()) <= MAX_GAIN * float((mean - base).abs().max()) + 0.1


def test_tiny_frames() -> None:
    for h, w in ((1, 1), (2, 30), (7, 3)):
        own = torch.from_numpy(np.random.default_rng(h).random((1, 3, h, w), np.float32))
        assert keep_detail(own * 0.5, own).shape == (1, 3, h, w)


def test_a_moving_sprite_leaves_no_ghost_in_the_background() -> None:
    """A red disc crossing a photograph 6 px a frame: where the disc is in the neighbours but not
    in the frame itself, the steadied frame is the background (occlusion handling)."""
    from scipy import ndimage
    from skimage import data, transform

    from neuralstyle.temporal.flow import flows_both_ways

    h, w = 72, 112
    background = (transform.resize(data.coffee(), (h, w), anti_aliasing=True) * 255).astype(
        np.uint8
    )
    yy, xx = np.mgrid[0:h, 0:w]

    def disc(t: int) -> np.ndarray:
        return (xx - (20 + 6 * t)) ** 2 + (yy - h / 2) ** 2 < 12**2

    frames = []
    for t in range(5):
        frame = background.copy()
        frame[disc(t)] = (230, 40, 30)
        frames.append(frame)
    t = 2
    neighbours = [Neighbour(o - t, frames[o], flows_both_ways(frames[t], frames[o])[0])
                  for o in range(5) if o != t]  # fmt: skip
    out = consolidate(frames[t], neighbours, radius=2, amount=1.0)
    elsewhere = np.any([disc(o) for o in range(5) if o != t], axis=0)
    uncovered = elsewhere & ~ndimage.binary_dilation(disc(t), iterations=3)
    difference = np.abs(out.astype(int) - frames[t].astype(int))[uncovered]
    assert difference.mean() < 2.0, difference.mean()  # a ghost of the disc would be ~100
    assert np.percentile(difference, 99) < 20
