"""Pixel encodings: the sRGB transfer curve, alpha association and integer full scale.

Float pixels are scene-linear (values below 0 and above 1 happen); uint8/uint16 pixels are
display-referred, sRGB-encoded. The networks were trained on sRGB-encoded images in [0, 1], so the
engine encodes linear input with the piecewise sRGB OETF (IEC 61966-2-1) before the network and
decodes after it; the image I/O layer uses the same functions to move between float and integer
files. This is the only place these curves live, below both :mod:`neuralstyle.engine` and
:mod:`neuralstyle.io`: it imports nothing from the package.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "alpha_divisor",
    "full_scale",
    "is_float",
    "premultiply",
    "srgb_decode",
    "srgb_encode",
    "unpremultiply",
]

# IEC 61966-2-1; the linear-segment threshold is chosen so both pieces meet (continuous curve).
_LINEAR_CUT = 0.0031308
_ENCODED_CUT = 0.04045
_SLOPE = 12.92
_GAMMA = 2.4
_OFFSET = 0.055


def is_float(dtype: np.dtype) -> bool:
    """Float pixels are scene-linear; integer pixels are display-referred."""
    return dtype.kind == "f"


def full_scale(dtype: np.dtype) -> float:
    """The value that means 1.0: 255, 65535, or 1 for float pixels."""
    return 1.0 if is_float(dtype) else float(np.iinfo(dtype).max)


def srgb_encode(linear: Tensor) -> Tensor:
    """Scene-linear to sRGB-encoded (the OETF). Defined for any real input.

    Below the cut the curve is linear, so negatives map to negatives and :func:`srgb_decode`
    inverts them; above 1 the power law continues.
    """
    power = (1.0 + _OFFSET) * linear.clamp_min(_LINEAR_CUT).pow(1.0 / _GAMMA) - _OFFSET
    return torch.where(linear <= _LINEAR_CUT, linear * _SLOPE, power)


def srgb_decode(encoded: Tensor) -> Tensor:
    """sRGB-encoded to scene-linear (the inverse of :func:`srgb_encode`). Defined for any input."""
    power = ((encoded.clamp_min(_ENCODED_CUT) + _OFFSET) / (1.0 + _OFFSET)).pow(_GAMMA)
    return torch.where(encoded <= _ENCODED_CUT, encoded / _SLOPE, power)


def alpha_divisor(alpha: Tensor) -> Tensor:
    """What premultiplied colour is divided by, and multiplied back with: alpha, or 1 where alpha
    is 0. Dividing and multiplying by the same value keeps the pair inverse, so pixels with no
    alpha (additive glows) keep their colour instead of turning black.

    Shape:
        - alpha: :math:`(*)`, normalised to [0, 1]
        - output: same as ``alpha``
    """
    return torch.where(alpha == 0, torch.ones_like(alpha), alpha)


def unpremultiply(rgb: Tensor, alpha: Tensor) -> Tensor:
    """Premultiplied colour to straight colour (see :func:`alpha_divisor`).

    Shape:
        - rgb: :math:`(3, H, W)`
        - alpha: :math:`(H, W)`, normalised to [0, 1]
        - output: :math:`(3, H, W)`
    """
    return rgb / alpha_divisor(alpha)


def premultiply(rgb: Tensor, alpha: Tensor) -> Tensor:
    """Straight colour to premultiplied colour, the inverse of :func:`unpremultiply`.

    Shape: as :func:`unpremultiply`.
    """
    return rgb * alpha_divisor(alpha)
