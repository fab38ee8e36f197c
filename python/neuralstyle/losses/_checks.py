"""Input guards shared by the losses: say what was expected and what came."""

from __future__ import annotations

from torch import Tensor

from neuralstyle.errors import InputError
from neuralstyle.tensor_words import describe


def check_features(fn: str, name: str, x: object) -> Tensor:
    """``x`` is a floating-point ``(N, C, H, W)`` tensor."""
    if not isinstance(x, Tensor) or x.dim() != 4 or not x.is_floating_point():
        raise InputError(f"{fn}: expected {name} as a float (N, C, H, W) tensor, got {describe(x)}")
    return x


def check_mask(fn: str, mask: object, x: Tensor) -> Tensor:
    """``mask`` is ``(N or 1, 1, H, W)`` on the grid of ``x``, floating point, same device."""
    n, _, h, w = x.shape
    if (
        not isinstance(mask, Tensor)
        or mask.dim() != 4
        or mask.shape[1] != 1
        or mask.shape[0] not in (1, n)
        or tuple(mask.shape[2:]) != (h, w)
        or not mask.is_floating_point()
    ):
        raise InputError(
            f"{fn}: expected a float mask of shape ({n} or 1, 1, {h}, {w}), got {describe(mask)}"
        )
    if mask.device != x.device:
        raise InputError(f"{fn}: the mask is on {mask.device}, the features on {x.device}")
    return mask
