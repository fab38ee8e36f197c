r"""Style losses: Gram matrices (Gatys et al. 2016) and feature statistics (Huang & Belongie 2017).

Gatys et al. 2016, "Image Style Transfer Using Convolutional Neural Networks", per layer :math:`l`
with :math:`N_l` channels and :math:`M_l` positions:

.. math::

    E_l = \frac{1}{4 N_l^2 M_l^2} \sum_{i,j} (G^l_{ij} - A^l_{ij})^2

with the unnormalised Gram :math:`G = F F^T`. With the normalised Gram of
:func:`neuralstyle.ops.gram.gram_matrix` (:math:`F F^T / M_l`) this is exactly
``mean((G - A)**2) / 4``, which is what :func:`gram_loss` computes: independent of the frame size.

Huang & Belongie 2017, "Arbitrary Style Transfer in Real-time with Adaptive Instance
Normalization", match per-channel means and standard deviations instead (:func:`mean_std_loss`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from neuralstyle.errors import InputError
from neuralstyle.losses._checks import check_features, check_mask
from neuralstyle.losses._target import TargetLoss
from neuralstyle.ops.adain import calc_mean_std
from neuralstyle.ops.gram import gram_matrix
from neuralstyle.tensor_words import describe

__all__ = [
    "GramLoss",
    "MeanStdLoss",
    "gram_loss",
    "masked_gram_matrix",
    "mean_std_loss",
]


def masked_gram_matrix(input: Tensor, mask: Tensor) -> Tensor:
    r"""Gram matrix of the features under a soft spatial mask, normalised by the mask's mass:
    :math:`G_{ij} = \sum_p m_p F_{ip} F_{jp} / \sum_p m_p` (the plain normalised Gram when
    :math:`m \equiv 1`). Used for spatial control: one style per region.

    Shape:
        - input: :math:`(N, C, H, W)`
        - mask: :math:`(N, 1, H, W)` or :math:`(1, 1, H, W)`, values in [0, 1]
        - output: :math:`(N, C, C)`
    """
    fn = "masked_gram_matrix"
    check_features(fn, "input", input)
    m = check_mask(fn, mask, input).to(input.dtype)
    n, _, h, w = input.shape
    mass = m.expand(n, 1, h, w).sum(dim=(1, 2, 3)).clamp_min(torch.finfo(torch.float32).eps)
    # gram_matrix divides by H*W; rescale to divide by the mask's mass instead
    g = gram_matrix(input * m.sqrt())
    return g * (h * w / mass).view(n, 1, 1).to(g.dtype)


def gram_loss(input: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Gatys et al. 2016 style loss of one layer, ``mean((G - A)**2) / 4``.

    Args:
        input: features of the image being optimised.
        target: the style's normalised Gram matrix :math:`A` (e.g. a weighted mix of several
            styles' Grams), broadcast over the batch when its first dimension is 1.
        mask: optional soft region on the feature grid; the Gram of ``input`` is then taken
            under it (:func:`masked_gram_matrix`).

    Shape:
        - input: :math:`(N, C, H, W)`
        - target: :math:`(N, C, C)` or :math:`(1, C, C)`
        - mask: :math:`(N, 1, H, W)` or :math:`(1, 1, H, W)`
        - output: :math:`()`
    """
    fn = "gram_loss"
    check_features(fn, "input", input)
    c = input.shape[1]
    if (
        not isinstance(target, Tensor)
        or target.dim() != 3
        or tuple(target.shape[1:]) != (c, c)
        or target.shape[0] not in (1, input.shape[0])
    ):
        raise InputError(
            f"{fn}: expected target of shape ({input.shape[0]} or 1, {c}, {c}) for input "
            f"{describe(input)}, got {describe(target)}"
        )
    g = gram_matrix(input) if mask is None else masked_gram_matrix(input, mask)
    return (g - target.to(g.dtype)).square().mean() / 4.0


def mean_std_loss(input: Tensor, target_mean: Tensor, target_std: Tensor) -> Tensor:
    """Huang & Belongie 2017 style loss of one layer: squared differences of the per-channel
    means plus those of the standard deviations (both averaged over batch and channels).

    Shape:
        - input: :math:`(N, C, H, W)`
        - target_mean, target_std: :math:`(N, C, 1, 1)` or :math:`(1, C, 1, 1)`
        - output: :math:`()`
    """
    fn = "mean_std_loss"
    check_features(fn, "input", input)
    for name, t in (("target_mean", target_mean), ("target_std", target_std)):
        ok = isinstance(t, Tensor) and t.dim() == 4 and tuple(t.shape[1:]) == (input.shape[1], 1, 1)
        if not ok or t.shape[0] not in (1, input.shape[0]):
            raise InputError(
                f"{fn}: expected {name} of shape ({input.shape[0]} or 1, {input.shape[1]}, 1, 1), "
                f"got {describe(t)}"
            )
    mean, std = calc_mean_std(input)
    return (mean - target_mean).square().mean() + (std - target_std).square().mean()


class GramLoss(TargetLoss):
    """:func:`gram_loss` against a fixed target Gram matrix.

    Args:
        target: the normalised Gram matrix of the style at this layer (a buffer, detached).
        mask: optional soft region on the feature grid.

    Shape:
        - input: :math:`(N, C, H, W)`
        - output: :math:`()`
    """

    loss = staticmethod(gram_loss)


class MeanStdLoss(nn.Module):
    """:func:`mean_std_loss` against fixed statistics.

    Shape:
        - input: :math:`(N, C, H, W)`
        - output: :math:`()`
    """

    target_mean: Tensor
    target_std: Tensor

    def __init__(self, target_mean: Tensor, target_std: Tensor) -> None:
        super().__init__()
        self.register_buffer("target_mean", target_mean.detach())
        self.register_buffer("target_std", target_std.detach())

    def forward(self, input: Tensor) -> Tensor:
        return mean_std_loss(input, self.target_mean, self.target_std)
