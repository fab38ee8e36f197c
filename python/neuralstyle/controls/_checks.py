"""Input guards of the controls: say what was expected and what came."""

from __future__ import annotations

from torch import Tensor

from neuralstyle.errors import InputError
from neuralstyle.tensor_words import describe


def check_rgb(fn: str, name: str, x: object) -> Tensor:
    """``x`` is a floating-point ``(N, 3, H, W)`` tensor."""
    if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[1] != 3 or not x.is_floating_point():
        raise InputError(
            f"{fn}: expected {name} as a float (N, 3, H, W) RGB tensor, got {describe(x)}"
        )
    return x


def check_mask(fn: str, mask: object) -> Tensor:
    """``mask`` is a floating-point ``(N, 1, H, W)`` tensor."""
    if (
        not isinstance(mask, Tensor)
        or mask.dim() != 4
        or mask.shape[1] != 1
        or not mask.is_floating_point()
    ):
        raise InputError(f"{fn}: expected a float (N, 1, H, W) mask, got {describe(mask)}")
    return mask
