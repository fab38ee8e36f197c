"""The Mask clip in a render, in one place: what it does and how it is read.

With ``mask_mode="strength"`` the mask limits the effect: :func:`read_mask` gives a weight over the
render window (0 keeps the source bit-exactly; the pipeline multiplies it into its blend). With
``"styles"`` it chooses the style: :func:`read_mask` gives regions over the whole source (the
network sees the whole source), and :func:`at_working_size` turns them into the inside/outside
pair the methods paint with (1: ``style``, 0: ``second_style``).

The mask's last channel is used; it counts as 0 where it has no pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from neuralstyle.controls.spatial import inside_outside, resize_mask
from neuralstyle.engine.pixels import Pixels, Rect, check_finite
from neuralstyle.errors import InputError
from neuralstyle.pixel_encoding import full_scale

__all__ = ["MaskUse", "at_working_size", "read_mask"]


@dataclass(frozen=True)
class MaskUse:
    """What the mask does in this render; both None without a mask.

    Attributes:
        weight: ``(h, w)`` in [0, 1] over the render window (``mask_mode="strength"``).
        regions: ``(H, W)`` in [0, 1] over the source (``mask_mode="styles"``).
    """

    weight: Tensor | None = None
    regions: Tensor | None = None


def read_mask(
    mask: Pixels, mask_rect: Rect, mode: str, *, source: Rect, window: Rect, device: torch.device
) -> MaskUse:
    """Read ``mask`` (placed at ``mask_rect``) for ``mode`` from host memory, once.

    Raises:
        InputError: a NaN or infinite mask value.
    """
    if mode == "styles":
        return MaskUse(regions=_over(mask, mask_rect, source, device))
    return MaskUse(weight=_over(mask, mask_rect, window, device))


def at_working_size(
    mode: str, regions: Tensor | None, size: tuple[int, int], dtype: torch.dtype
) -> list[Tensor] | None:
    """The inside and outside of the style regions at the methods' working ``size`` (in the
    image's ``dtype``), or None when the mask does not choose the style.

    Raises:
        InputError: the mask chooses the style but none is connected.
    """
    if mode != "styles":
        return None
    if regions is None:
        raise InputError(
            "mask mode styles chooses the style by the mask: connect a mask (1: style, "
            "0: second style)"
        )
    resized: list[Tensor] = inside_outside(resize_mask(regions[None, None].to(dtype), size))
    return resized


def _over(mask: Pixels, mask_rect: Rect, region: Rect, device: torch.device) -> Tensor:
    """The mask over ``region`` as float32 ``(h, w)`` in [0, 1]; 0 where the mask has no pixels."""
    weight = torch.zeros((region.height, region.width), dtype=torch.float32, device=device)
    covered = region.intersect(mask_rect)
    if covered.empty:
        return weight
    values = mask.view(covered.within(mask_rect)).last_channel(device)
    scale = full_scale(mask.dtype)
    if scale != 1.0:
        values = values / scale
    check_finite(values, "mask")
    local = covered.within(region)
    weight[local.top : local.bottom, local.left : local.right] = values.clamp(0.0, 1.0)
    return weight
