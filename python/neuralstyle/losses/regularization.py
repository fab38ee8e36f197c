r"""Total variation regulariser (Mahendran & Vedaldi 2015; used by Johnson et al. 2016).

.. math::

    \mathcal{L}_{TV} = \operatorname{mean}\big((x_{i+1,j} - x_{i,j})^2\big)
                     + \operatorname{mean}\big((x_{i,j+1} - x_{i,j})^2\big)

the squared (:math:`\beta = 2`) anisotropic form, averaged so the weight does not depend on size.
It suppresses the high-frequency noise pixel-space optimisation otherwise leaves.
"""

from __future__ import annotations

from torch import Tensor, nn

from neuralstyle.errors import InputError
from neuralstyle.losses._checks import check_features
from neuralstyle.tensor_words import describe

__all__ = ["TotalVariationLoss", "total_variation_loss"]


def total_variation_loss(input: Tensor) -> Tensor:
    """Mean squared difference between vertical plus horizontal neighbours.

    Shape:
        - input: :math:`(N, C, H, W)` with :math:`H, W \\ge 2`
        - output: :math:`()`
    """
    check_features("total_variation_loss", "input", input)
    if input.shape[2] < 2 or input.shape[3] < 2:
        raise InputError(f"total_variation_loss: expected H, W >= 2, got {describe(input)}")
    dy = input[:, :, 1:, :] - input[:, :, :-1, :]
    dx = input[:, :, :, 1:] - input[:, :, :, :-1]
    return dy.square().mean() + dx.square().mean()


class TotalVariationLoss(nn.Module):
    """:func:`total_variation_loss` as a module.

    Shape:
        - input: :math:`(N, C, H, W)`
        - output: :math:`()`
    """

    def forward(self, input: Tensor) -> Tensor:
        return total_variation_loss(input)
