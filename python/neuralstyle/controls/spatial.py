"""Spatial control: which style applies where, with soft masks.

A mask is a float ``(N, 1, H, W)`` tensor in [0, 1] on the content's pixel grid. Masks are
brought to each feature grid by area averaging, so a soft edge stays soft at every layer and a
hard edge becomes fractional weights along the boundary (no staircase in the blend).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.nn.functional import interpolate

from neuralstyle.controls._checks import check_mask
from neuralstyle.errors import InputError

__all__ = ["inside_outside", "partition", "resize_mask"]


def resize_mask(mask: Tensor, size: tuple[int, int]) -> Tensor:
    """The mask on another grid: area averaging when shrinking, bilinear when growing.

    Shape:
        - mask: :math:`(N, 1, H, W)`
        - output: :math:`(N, 1, h, w)` with ``(h, w) = size``
    """
    check_mask("resize_mask", mask)
    if tuple(mask.shape[-2:]) == tuple(size):
        return mask
    shrink = size[0] <= mask.shape[2] and size[1] <= mask.shape[3]
    if shrink:
        out = interpolate(mask, size=size, mode="area")
    else:
        out = interpolate(mask, size=size, mode="bilinear", align_corners=False)
    return out.clamp(0.0, 1.0)


def inside_outside(mask: Tensor) -> list[Tensor]:
    """``[mask, 1 - mask]``: the two regions of a two-style composition (first style inside).

    Shape:
        - mask: :math:`(N, 1, H, W)` in [0, 1]
        - output: two :math:`(N, 1, H, W)`
    """
    m = check_mask("inside_outside", mask).clamp(0.0, 1.0)
    return [m, 1.0 - m]


def partition(masks: Sequence[Tensor]) -> list[Tensor]:
    """Per-pixel weights that sum to 1 over the masks (where all are zero, equal weights), so
    overlapping soft masks blend their styles instead of adding them.

    Shape:
        - masks: each :math:`(N, 1, H, W)`, all alike
        - output: the same number of :math:`(N, 1, H, W)`
    """
    if not masks:
        raise InputError("partition: no masks")
    for m in masks:
        check_mask("partition", m)
        if m.shape != masks[0].shape:
            raise InputError(
                f"partition: masks differ in shape: {tuple(masks[0].shape)} and {tuple(m.shape)}"
            )
    stack = torch.stack([m.clamp(0.0, 1.0) for m in masks])
    total = stack.sum(dim=0, keepdim=True)
    equal = torch.full_like(stack, 1.0 / len(masks))
    out = torch.where(total > 0, stack / total.clamp_min(torch.finfo(stack.dtype).tiny), equal)
    return list(out.unbind(0))
