"""Random training crops: images kept at a few scales, crops, flips and choices drawn from one
torch generator (so a run's batches depend only on its seed and the step it resumed at)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.nn.functional import interpolate

__all__ = ["Pool"]


class Pool:
    """Images at four scales between ``min_short`` and ``max_short`` on their short side (never
    below ``crop``); :meth:`batch` draws random ``crop`` squares, half of them flipped.

    Shape:
        - images: ``(H, W, 3)`` uint8 RGB each
        - batch: :math:`(n, 3, crop, crop)` float32 in [0, 1], on the CPU
    """

    def __init__(self, images: list[np.ndarray], crop: int, min_short: int, max_short: int) -> None:
        shorts = np.geomspace(min_short, max_short, 4).round().astype(int)
        self.crop = crop
        self.scaled: list[list[Tensor]] = []
        for rgb in images:
            x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float().div(255)
            levels = []
            for short in shorts:
                s = max(int(short), self.crop) / min(x.shape[2:])
                size = (
                    max(self.crop, round(x.shape[2] * s)),
                    max(self.crop, round(x.shape[3] * s)),
                )
                levels.append(interpolate(x, size=size, mode="area" if s < 1 else "bilinear"))
            self.scaled.append(levels)

    def batch(self, n: int, gen: torch.Generator) -> Tensor:
        out = []
        for _ in range(n):
            levels = self.scaled[int(torch.randint(len(self.scaled), (1,), generator=gen))]
            x = levels[int(torch.randint(len(levels), (1,), generator=gen))]
            top = int(torch.randint(x.shape[2] - self.crop + 1, (1,), generator=gen))
            left = int(torch.randint(x.shape[3] - self.crop + 1, (1,), generator=gen))
            patch = x[:, :, top : top + self.crop, left : left + self.crop]
            if bool(torch.randint(2, (1,), generator=gen)):
                patch = patch.flip(3)
            out.append(patch)
        return torch.cat(out)
