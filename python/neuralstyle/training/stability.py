"""The stability term (Gupta et al. 2017): a frame and a slightly moved, noisier copy of it must
stylise alike once the move is undone.

The copy is the crop shifted by a random whole number of pixels (0 to ``shift`` down and right;
the network's strides make sub-stride shifts already hard for it) with Gaussian noise of standard
deviation ``noise`` added, as camera motion and grain change a plate between frames. The loss is
the mean squared difference over the pixels both outputs cover.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["stability_loss"]


def stability_loss(
    stylise: Callable[[Tensor], Tensor],
    content: Tensor,
    output: Tensor,
    *,
    shift: int,
    noise: float,
    gen: torch.Generator,
) -> Tensor:
    """``mean((stylise(moved) - output[moved part])**2)``.

    Args:
        stylise: the network being trained, on a batch.
        content: the crops, :math:`(N, 3, H, W)`.
        output: ``stylise(content)``.
        shift, noise: the largest shift in pixels and the noise's standard deviation.
        gen: the CPU generator the shift and the noise are drawn from.
    """
    dy, dx = (int(v) for v in torch.randint(shift + 1, (2,), generator=gen))
    grain = torch.randn(content[:, :, dy:, dx:].shape, generator=gen) * noise
    moved = (content[:, :, dy:, dx:] + grain.to(content.device)).clamp(0, 1)
    return (stylise(moved) - output[:, :, dy:, dx:]).square().mean()
