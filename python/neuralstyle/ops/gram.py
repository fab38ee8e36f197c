r"""Gram matrices of feature maps, the style statistic of Gatys et al. (2016).

.. math::

    G_{b,i,j} = \frac{1}{N} \sum_{n=1}^{N} F_{b,i,n} \, F_{b,j,n}, \qquad N = H W

Products are accumulated in float32 (float64 for float64 input) and the result is float32 whatever
the input dtype: float16 features, whose squares summed over a frame pass 65504 long before the
division by :math:`N`, cannot overflow.

:func:`gram_matrix` is the single dispatch point: CUDA tensors run the kernels of ``cuda/gram``
where :func:`neuralstyle.ops._cuda.kernels_available` says they can, everything else runs the torch
reference :func:`_gram_reference`, which is also the oracle the kernel tests compare against.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from neuralstyle.errors import InputError
from neuralstyle.ops import _cuda, _gram_cuda
from neuralstyle.tensor_words import describe

__all__ = ["GramMatrix", "gram_matrix"]


def _check_features(features: object) -> Tensor:
    if not isinstance(features, Tensor):
        raise InputError(f"gram_matrix: expected a torch.Tensor, got {type(features).__name__}")
    if features.dim() < 3:
        raise InputError(
            f"gram_matrix: expected features of shape (B, C, *spatial), got {describe(features)}"
        )
    if not features.is_floating_point():
        raise InputError(f"gram_matrix: expected floating-point features, got {describe(features)}")
    if features.numel() == 0:
        raise InputError(f"gram_matrix: expected non-empty features, got {describe(features)}")
    return features


def _gram_reference(features: Tensor) -> Tensor:
    """Torch reference: any device, differentiable; the oracle for the kernels."""
    b, c = features.shape[:2]
    accumulate = torch.float64 if features.dtype == torch.float64 else torch.float32
    f = features.reshape(b, c, -1).to(accumulate)
    return torch.bmm(f, f.transpose(1, 2)) / f.shape[-1]


def gram_matrix(features: Tensor) -> Tensor:
    r"""Gram matrix :math:`F F^T / N` of each sample's feature maps.

    Args:
        features: feature maps; any floating dtype, contiguous or channels-last.

    Returns:
        The Gram matrices, float32 (float64 for float64 input), symmetric.

    Raises:
        InputError: ``features`` is not a non-empty floating tensor with at least 3 dimensions.

    Shape:
        - features: :math:`(B, C, *)`, :math:`N` the product of the trailing dimensions
        - output: :math:`(B, C, C)`

    Examples:
        >>> f = torch.ones(1, 2, 4, 4)
        >>> gram_matrix(f)
        tensor([[[1., 1.],
                 [1., 1.]]])
    """
    _check_features(features)
    if _cuda.kernels_available(features):
        return _gram_cuda.gram_matrix_cuda(features)
    return _gram_reference(features)


class GramMatrix(nn.Module):
    """Gram matrix of feature maps; a thin wrapper over :func:`gram_matrix`.

    Shape:
        - input: :math:`(B, C, *)`
        - output: :math:`(B, C, C)`, float32 (float64 for float64 input)

    Examples:
        >>> GramMatrix()(torch.rand(2, 8, 5, 7)).shape
        torch.Size([2, 8, 8])
    """

    def forward(self, features: Tensor) -> Tensor:
        return gram_matrix(features)
