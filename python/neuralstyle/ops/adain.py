r"""Adaptive instance normalisation (AdaIN, Huang & Belongie 2017).

The content features are normalised per (sample, channel) plane and given the style's statistics:

.. math::

    \mathrm{AdaIN}(x, \mu_s, \sigma_s) = \sigma_s \frac{x - \mu(x)}{\sigma(x)} + \mu_s, \qquad
    y = \alpha \, \mathrm{AdaIN}(x, \mu_s, \sigma_s) + (1 - \alpha) \, x

with :math:`\sigma(x) = \sqrt{\mathrm{var}(x) + \epsilon}`, the *unbiased* variance (divide by
:math:`HW - 1`) and :math:`\epsilon = 10^{-5}`, as in the authors' released code
(``calc_mean_std``). :math:`\alpha` trades style for content; :math:`\alpha = 0` returns the
content.

:func:`adain` is the single dispatch point: CUDA tensors run the fused kernel of
``cuda/instance_norm`` (the content is read once for its statistics and once for the output) where
:func:`neuralstyle.ops._cuda.kernels_available` says it can; everything else runs the torch
reference :func:`_adain_reference`, the oracle of the kernel tests.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from neuralstyle.errors import InputError
from neuralstyle.ops import _cuda, _instance_norm_cuda
from neuralstyle.tensor_words import describe, dtype_name

__all__ = ["AdaIN", "adain", "calc_mean_std"]


def _check_features(name: str, x: object, min_positions: int) -> Tensor:
    if not isinstance(x, Tensor):
        raise InputError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4 or not x.is_floating_point():
        raise InputError(
            f"{name}: expected floating features of shape (N, C, H, W), got {describe(x)}"
        )
    if x.shape[0] * x.shape[1] == 0 or x.shape[2] * x.shape[3] < min_positions:
        raise InputError(
            f"{name}: expected at least {min_positions} positions (H*W) per channel and a "
            f"non-empty batch, got {describe(x)}"
        )
    return x


def _check_statistic(name: str, s: object, content: Tensor) -> Tensor:
    """``(N|1, C)`` or ``(N|1, C, 1, 1)`` -> a ``(N|1, C, 1, 1)`` view."""
    n, c = content.shape[:2]
    if not isinstance(s, Tensor):
        raise InputError(f"adain: expected {name} as a torch.Tensor, got {type(s).__name__}")
    if s.shape not in ((n, c), (1, c), (n, c, 1, 1), (1, c, 1, 1)):
        raise InputError(
            f"adain: expected {name} of shape ({n}, {c}, 1, 1), (1, {c}, 1, 1), ({n}, {c}) or "
            f"(1, {c}) for content of shape {tuple(content.shape)}, got {describe(s)}"
        )
    if s.dtype != content.dtype or s.device != content.device:
        raise InputError(
            f"adain: expected {name} as {dtype_name(content.dtype)} on "
            f"{content.device} like the content, got {describe(s)}"
        )
    return s.reshape(s.shape[0], c, 1, 1)


def _accumulate(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def calc_mean_std(features: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    r"""Per-channel mean and :math:`\sqrt{\mathrm{var} + \epsilon}` (unbiased variance).

    Computed in float32 (float64 for float64 input), returned in the dtype of ``features``.

    Args:
        features: feature maps with at least 2 positions per channel.
        eps: added to the variance under the square root.

    Returns:
        ``(mean, std)``, each :math:`(N, C, 1, 1)`.

    Raises:
        InputError: ``features`` is not a floating ``(N, C, H, W)`` tensor with ``H*W >= 2``.

    Shape:
        - features: :math:`(N, C, H, W)`
        - mean, std: :math:`(N, C, 1, 1)`

    Examples:
        >>> mean, std = calc_mean_std(torch.tensor([[[[1.0, 3.0]]]]), eps=0.0)
        >>> mean.flatten().tolist(), std.flatten().tolist()
        ([2.0], [1.4142135381698608])
    """
    _check_features("calc_mean_std", features, 2)
    f = features.to(_accumulate(features.dtype))
    var, mean = torch.var_mean(f, dim=(2, 3), keepdim=True, correction=1)
    return mean.to(features.dtype), (var + eps).sqrt().to(features.dtype)


def _adain_reference(
    content: Tensor, style_mean: Tensor, style_std: Tensor, alpha: float, eps: float
) -> Tensor:
    """Torch reference: any device, differentiable; the oracle for the kernel."""
    acc = _accumulate(content.dtype)
    x = content.to(acc)
    var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=1)
    out = (x - mean) / (var + eps).sqrt() * style_std.to(acc) + style_mean.to(acc)
    if alpha != 1.0:
        out = alpha * out + (1.0 - alpha) * x
    return out.to(content.dtype)


def adain(
    content: Tensor,
    style_mean: Tensor,
    style_std: Tensor,
    alpha: float = 1.0,
    eps: float = 1e-5,
) -> Tensor:
    r"""Gives each content channel the style's mean and standard deviation, blended by ``alpha``.

    Args:
        content: content feature maps (at least 2 positions per channel).
        style_mean: per-channel style means, e.g. from :func:`calc_mean_std` of the style features.
        style_std: per-channel style standard deviations, likewise.
        alpha: 1 for the full style statistics, 0 for the content unchanged, in between a blend.
        eps: added to the content's variance under the square root.

    Returns:
        Features of the content's shape, dtype and device.

    Raises:
        InputError: shapes, dtypes or devices do not fit together, or ``alpha`` is outside [0, 1].

    Shape:
        - content: :math:`(N, C, H, W)`
        - style_mean, style_std: :math:`(N, C, 1, 1)`, :math:`(1, C, 1, 1)`, :math:`(N, C)` or
          :math:`(1, C)`
        - output: :math:`(N, C, H, W)`

    Examples:
        >>> content, style = torch.rand(1, 3, 8, 8), 5 + 2 * torch.randn(1, 3, 8, 8)
        >>> out = adain(content, *calc_mean_std(style))
        >>> torch.allclose(calc_mean_std(out)[0], calc_mean_std(style)[0], atol=1e-4)
        True
    """
    _check_features("adain", content, 2)
    style_mean = _check_statistic("style_mean", style_mean, content)
    style_std = _check_statistic("style_std", style_std, content)
    if not 0.0 <= alpha <= 1.0:
        raise InputError(f"adain: expected alpha in [0, 1], got {alpha}")
    if _cuda.kernels_available(content):
        return _instance_norm_cuda.adain_cuda(content, style_mean, style_std, alpha, eps)
    return _adain_reference(content, style_mean, style_std, alpha, eps)


class AdaIN(nn.Module):
    """AdaIN of content features with the statistics of style features.

    A thin wrapper over :func:`calc_mean_std` and :func:`adain`.

    Args:
        eps: added to both variances under the square root.

    Shape:
        - content: :math:`(N, C, H, W)`; style: :math:`(N, C, H', W')` or :math:`(1, C, H', W')`
        - output: :math:`(N, C, H, W)`

    Examples:
        >>> AdaIN()(torch.rand(2, 4, 6, 6), torch.rand(1, 4, 9, 9)).shape
        torch.Size([2, 4, 6, 6])
    """

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, content: Tensor, style: Tensor, alpha: float = 1.0) -> Tensor:
        mean, std = calc_mean_std(style, self.eps)
        return adain(content, mean, std, alpha, self.eps)

    def extra_repr(self) -> str:
        return f"eps={self.eps}"
