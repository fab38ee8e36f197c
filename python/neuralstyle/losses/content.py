r"""Content loss: feature reconstruction (Mahendran & Vedaldi 2015, as used by Gatys et al. 2016).

.. math::

    \mathcal{L}_{content} = \frac{1}{C H W} \sum_{c, p} (F_{cp} - P_{cp})^2

the mean squared difference between the features :math:`F` of the image being optimised and the
features :math:`P` of the content image at one layer (Gatys et al. sum and halve instead; the mean
keeps the loss independent of the frame size, so one weight works at proxy and full resolution).
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuralstyle.errors import InputError
from neuralstyle.losses._checks import check_features, check_mask
from neuralstyle.losses._target import TargetLoss
from neuralstyle.tensor_words import describe

__all__ = ["FeatureReconstructionLoss", "feature_reconstruction_loss"]


def feature_reconstruction_loss(
    input: Tensor, target: Tensor, mask: Tensor | None = None
) -> Tensor:
    """Mean squared feature difference, optionally weighted by a spatial mask.

    Args:
        input: features of the image being optimised.
        target: features of the content image (broadcast over the batch when ``N_t == 1``).
        mask: weights in [0, 1] on the feature grid; the loss is the mask-weighted mean.

    Returns:
        A scalar tensor.

    Shape:
        - input: :math:`(N, C, H, W)`
        - target: :math:`(N, C, H, W)` or :math:`(1, C, H, W)`
        - mask: :math:`(N, 1, H, W)` or :math:`(1, 1, H, W)`
        - output: :math:`()`
    """
    fn = "feature_reconstruction_loss"
    check_features(fn, "input", input)
    check_features(fn, "target", target)
    if target.shape[1:] != input.shape[1:] or target.shape[0] not in (1, input.shape[0]):
        raise InputError(f"{fn}: target {describe(target)} does not match input {describe(input)}")
    sq = (input - target).square()
    if mask is None:
        return sq.mean()
    m = check_mask(fn, mask, input).expand(input.shape[0], 1, *input.shape[2:])
    return (sq * m).sum() / (m.sum() * input.shape[1]).clamp_min(torch.finfo(sq.dtype).tiny)


class FeatureReconstructionLoss(TargetLoss):
    """:func:`feature_reconstruction_loss` against a fixed target.

    Args:
        target: the content features (stored as a buffer, detached).
        mask: optional spatial weights on the feature grid.

    Shape:
        - input: :math:`(N, C, H, W)`
        - output: :math:`()`
    """

    loss = staticmethod(feature_reconstruction_loss)
