"""Multi-style blending: weights over several style images.

Optimisation mixes the styles' Gram matrices (one target that is a weighted mean); AdaIN mixes
their feature statistics (a weighted mean of means and of deviations, which equals the paper's
weighted sum of AdaIN outputs, since AdaIN is affine in the statistics).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from neuralstyle.errors import InputError

__all__ = ["mix", "mix_layers", "normalize_weights"]


def normalize_weights(weights: Sequence[float] | None, count: int) -> list[float]:
    """Blend weights for ``count`` styles, scaled to sum to 1 (default: equal weights).

    Raises:
        InputError: wrong length, a negative or non-finite weight, or all weights zero.
    """
    if count < 1:
        raise InputError("at least one style image is needed")
    if weights is None:
        return [1.0 / count] * count
    w = [float(v) for v in weights]
    if len(w) != count:
        raise InputError(f"expected {count} style weights (one per style), got {len(w)}")
    if any(not math.isfinite(v) or v < 0 for v in w):
        raise InputError(f"style weights must be finite and >= 0, got {w}")
    total = sum(w)
    if total <= 0:
        raise InputError(f"style weights must not all be zero, got {w}")
    return [v / total for v in w]


def mix(values: Sequence[Tensor], weights: Sequence[float]) -> Tensor:
    """Weighted sum of same-shaped tensors (weights as from :func:`normalize_weights`).

    Shape:
        - values: each :math:`(*)`, all alike
        - output: :math:`(*)`
    """
    if len(values) != len(weights) or not values:
        raise InputError(f"mix: {len(values)} values for {len(weights)} weights")
    shape = values[0].shape
    for v in values:
        if v.shape != shape:
            raise InputError(f"mix: expected tensors of shape {tuple(shape)}, got {tuple(v.shape)}")
    out = torch.zeros_like(values[0])
    for v, w in zip(values, weights, strict=True):
        out = out + w * v
    return out


def mix_layers(
    per_style: Sequence[Mapping[str, Tensor]], weights: Sequence[float]
) -> dict[str, Tensor]:
    """:func:`mix` layer by layer, e.g. Gram targets ``{layer: (1, C, C)}`` of several styles."""
    if not per_style:
        raise InputError("mix_layers: no styles")
    return {k: mix([d[k] for d in per_style], weights) for k in per_style[0]}
