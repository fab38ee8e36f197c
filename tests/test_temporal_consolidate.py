"""Consolidation's detail keeping: the mean of redrawn strokes gets its contrast back, and a
picture the neighbours agree on is left as it is."""

from __future__ import annotations

import numpy as np
import torch

from neuralstyle.temporal.consolidate import MAX_GAIN, keep_detail


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
