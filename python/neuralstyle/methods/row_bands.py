"""A fully convolutional network run over a frame in bands of rows, so a frame too large for
memory in one piece (8K AdaIN: 38 GiB at once) renders in pieces that fit.

Each band is run with ``halo`` rows of the frame above and below it, and only the rows of its
own band are kept from the output. Where the halo covers the network's receptive field, no kept
row sees the band's cut edge (its zero or reflected padding), so the bands put together are the
whole frame's output, seam-free by construction rather than blended: the same values up to the
float rounding of convolutions run on other sizes (tests/test_row_bands.py).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import torch
from torch import Tensor

from neuralstyle.errors import InputError

__all__ = ["in_bands"]


def in_bands(
    net: Callable[[Tensor], Tensor],
    x: Tensor,
    *,
    rows: int | None,
    halo: int,
    scale: Fraction,
) -> Tensor:
    """``net(x)``, computed in bands of ``rows`` input rows (None: in one piece).

    Args:
        net: a fully convolutional network whose output is ``scale`` times its input's size.
        x: its input.
        rows: input rows per band; with ``halo``, a multiple of the network's largest stride
            (the bands' pooling grids then line up with the whole frame's).
        halo: rows of context above and below each band, at least the network's receptive
            field radius.
        scale: output rows per input row (1/8 for an encoder to relu4_1, 8 for its decoder).

    Shape:
        - x: :math:`(N, C, H, W)`; returns :math:`(N, C', H \\cdot scale, W \\cdot scale)`
    """
    h = x.shape[2]
    if rows is None or rows >= h:
        return net(x)
    if rows < 1 or halo < 0 or (rows * scale).denominator != 1 or (halo * scale).denominator != 1:
        raise InputError(f"in_bands: rows {rows} and halo {halo} must be whole at scale {scale}")
    out: Tensor | None = None
    for top in range(0, h, rows):
        bottom = min(top + rows, h)
        start, stop = max(0, top - halo), min(h, bottom + halo)
        band = net(x[:, :, start:stop])
        keep = band[:, :, int((top - start) * scale) : int((bottom - start) * scale)]
        if out is None:  # the first band gives the channels and width
            n, c, _, w = keep.shape
            out = torch.empty(n, c, int(h * scale), w, dtype=keep.dtype, device=keep.device)
        out[:, :, int(top * scale) : int(bottom * scale)] = keep
        del band, keep  # the next band's peak without this one's
    assert out is not None  # h >= 1: at least one band
    return out
