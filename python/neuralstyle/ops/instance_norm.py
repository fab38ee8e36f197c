r"""Instance normalisation and conditional instance normalisation.

Both normalise every (sample, channel) plane of an ``(N, C, H, W)`` tensor to zero mean and unit
variance over ``H, W`` and then apply a per-channel affine transform:

.. math::

    y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} \, \gamma + \beta

with the *biased* variance :math:`\sigma^2` (divide by ``H*W``) and :math:`\epsilon` inside the
square root, as in :func:`torch.nn.functional.instance_norm` and in the ONNX graph of the built-in
styles network. Conditional instance normalisation (Dumoulin et al. 2017, "A Learned Representation
for Artistic Style") takes :math:`\gamma, \beta` from per-style tables mixed by style weights:
``gamma = style_weights @ gamma_table``.

:func:`instance_norm` is the single dispatch point: every caller (both modules, the conditional
variant, the networks) goes through it, so a device-specific kernel is plugged in there and nowhere
else. Today every device runs torch's fused batch-norm kernel over the ``N*C`` planes; the formula
written out, :func:`_instance_norm_reference`, is the oracle that tests compare every
implementation against.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn.functional import batch_norm

from neuralstyle.errors import InputError
from neuralstyle.ops import _cuda, _instance_norm_cuda
from neuralstyle.tensor_words import describe, dtype_name

__all__ = [
    "ConditionalInstanceNorm2d",
    "InstanceNorm2d",
    "conditional_instance_norm",
    "instance_norm",
]

_Kernel = Callable[[Tensor, Tensor | None, Tensor | None, float], Tensor]


def _check_input(x: object) -> Tensor:
    if not isinstance(x, Tensor):
        raise InputError(f"instance_norm: expected a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4:
        raise InputError(f"instance_norm: expected x of shape (N, C, H, W), got {describe(x)}")
    if not x.is_floating_point():
        raise InputError(f"instance_norm: expected a floating-point x, got {describe(x)}")
    if x.shape[2] * x.shape[3] < 2:
        raise InputError(f"instance_norm: expected at least 2 pixels per plane, got {describe(x)}")
    return x


def _check_affine(name: str, p: Tensor | None, x: Tensor) -> None:
    if p is None:
        return
    n, c = x.shape[:2]
    if p.shape not in ((c,), (n, c)):
        raise InputError(
            f"instance_norm: expected {name} of shape ({c},) or ({n}, {c}) for x of shape "
            f"{tuple(x.shape)}, got {describe(p)}"
        )
    if p.device != x.device or p.dtype != x.dtype:
        raise InputError(
            f"instance_norm: expected {name} as {dtype_name(x.dtype)} on "
            f"{x.device} like x, got {describe(p)}"
        )


def _as_planes(p: Tensor, x: Tensor) -> Tensor:
    # (C,) or (N, C) -> broadcastable against (N, C, H, W)
    return p.reshape(-1 if p.dim() == 2 else 1, x.shape[1], 1, 1)


def _instance_norm_reference(
    x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float
) -> Tensor:
    """The formula written out; the oracle every implementation is tested against."""
    var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
    scale = torch.rsqrt(var + eps)
    if weight is not None:
        scale = scale * _as_planes(weight, x)
    if bias is None:
        return (x - mean) * scale
    return torch.addcmul(_as_planes(bias, x), x - mean, scale)


def _instance_norm_torch(
    x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float
) -> Tensor:
    """Torch's fused batch-norm kernel with every (sample, channel) plane as its own channel.

    Same formula as the reference (biased variance, eps inside the root) in one statistics pass
    and one apply pass: about 3x faster than the reference on the CPU at 1080p.
    """
    n, c = x.shape[:2]

    def per_plane(p: Tensor | None) -> Tensor | None:
        return None if p is None else p.expand(n, c).reshape(n * c)

    planes = x.reshape(1, n * c, *x.shape[2:])
    out = batch_norm(
        planes, None, None, per_plane(weight), per_plane(bias), training=True, momentum=0.0, eps=eps
    )
    return out.view_as(x)


def _select_kernel(x: Tensor) -> _Kernel:
    # The one dispatch point: our cuda/instance_norm kernels where they can run (a CUDA tensor and
    # a usable CuPy), torch's own fused kernel everywhere else.
    if _cuda.kernels_available(x):
        return _instance_norm_cuda.instance_norm_cuda
    return _instance_norm_torch


def instance_norm(
    x: Tensor, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    r"""Normalise each channel of each sample over its spatial plane, then scale and shift.

    Args:
        x: the input feature maps.
        weight: per-channel scale :math:`\gamma`, shared by the batch ``(C)`` or per sample
            ``(N, C)``; ``None`` means 1.
        bias: per-channel shift :math:`\beta`, ``(C)`` or ``(N, C)``; ``None`` means 0.
        eps: added to the biased variance inside the square root.

    Returns:
        The normalised tensor, same shape, dtype and device as ``x``.

    Raises:
        InputError: ``x`` is not a 4-D floating tensor, or ``weight``/``bias`` do not match it.

    Shape:
        - x: :math:`(N, C, H, W)`
        - weight, bias: :math:`(C)` or :math:`(N, C)`
        - output: :math:`(N, C, H, W)`

    Examples:
        >>> x = torch.rand(2, 3, 8, 8)
        >>> y = instance_norm(x)
        >>> bool(y.mean(dim=(2, 3)).abs().max() < 1e-5)
        True
    """
    _check_input(x)
    _check_affine("weight", weight, x)
    _check_affine("bias", bias, x)
    return _select_kernel(x)(x, weight, bias, eps)


def conditional_instance_norm(
    x: Tensor,
    style_weights: Tensor,
    gamma_table: Tensor,
    beta_table: Tensor,
    eps: float = 1e-5,
) -> Tensor:
    """Instance normalisation with scale and shift mixed from per-style tables.

    The affine parameters are mixed, not the outputs: ``gamma = style_weights @ gamma_table`` and
    ``beta = style_weights @ beta_table``, so a 50/50 weight vector gives one network halfway
    between two styles (Dumoulin et al. 2017, section 4).

    Args:
        x: the input feature maps.
        style_weights: one weight per style, shared by the batch ``(S)`` or per sample ``(N, S)``.
            One-hot selects a style; weights summing to 1 mix styles.
        gamma_table: per-style scales, one row per style.
        beta_table: per-style shifts, one row per style.
        eps: added to the biased variance inside the square root.

    Returns:
        The normalised tensor, same shape, dtype and device as ``x``.

    Raises:
        InputError: shapes, dtypes or devices of the arguments do not fit together.

    Shape:
        - x: :math:`(N, C, H, W)`
        - style_weights: :math:`(S)` or :math:`(N, S)`
        - gamma_table, beta_table: :math:`(S, C)`
        - output: :math:`(N, C, H, W)`

    Examples:
        >>> x = torch.rand(1, 4, 8, 8)
        >>> gamma, beta = torch.rand(3, 4), torch.rand(3, 4)
        >>> y = conditional_instance_norm(x, torch.tensor([0.0, 1.0, 0.0]), gamma, beta)
        >>> torch.allclose(y, instance_norm(x, gamma[1], beta[1]))
        True
    """
    _check_input(x)
    n, c = x.shape[:2]
    for name, table in (("gamma_table", gamma_table), ("beta_table", beta_table)):
        if table.dim() != 2 or table.shape[1] != c:
            raise InputError(
                f"conditional_instance_norm: expected {name} of shape (S, {c}) for x with {c} "
                f"channels, got {describe(table)}"
            )
    s = gamma_table.shape[0]
    if beta_table.shape[0] != s:
        raise InputError(
            f"conditional_instance_norm: expected beta_table with {s} rows like gamma_table, "
            f"got {describe(beta_table)}"
        )
    if style_weights.shape not in ((s,), (n, s)):
        raise InputError(
            f"conditional_instance_norm: expected style_weights of shape ({s},) or ({n}, {s}), "
            f"got {describe(style_weights)}"
        )
    if style_weights.dtype != gamma_table.dtype or style_weights.device != gamma_table.device:
        raise InputError(
            f"conditional_instance_norm: expected style_weights as "
            f"{dtype_name(gamma_table.dtype)} on {gamma_table.device} like the "
            f"tables, got {describe(style_weights)}"
        )
    if _cuda.kernels_available(x):  # the kernel mixes the style rows itself
        return _instance_norm_cuda.conditional_instance_norm_cuda(
            x, style_weights, gamma_table, beta_table, eps
        )
    return instance_norm(x, style_weights @ gamma_table, style_weights @ beta_table, eps)


class InstanceNorm2d(nn.Module):
    """Instance normalisation with an optional learned per-channel scale and shift.

    A thin wrapper over :func:`instance_norm`. Unlike :class:`torch.nn.InstanceNorm2d` it keeps no
    running statistics: training and evaluation normalise the same way.

    Args:
        channels: number of channels ``C``.
        eps: added to the biased variance inside the square root.
        affine: learn ``weight`` (init 1) and ``bias`` (init 0).

    Shape:
        - input: :math:`(N, C, H, W)`
        - output: :math:`(N, C, H, W)`

    Examples:
        >>> norm = InstanceNorm2d(3)
        >>> norm(torch.rand(2, 3, 8, 8)).shape
        torch.Size([2, 3, 8, 8])
    """

    weight: nn.Parameter | None
    bias: nn.Parameter | None

    def __init__(self, channels: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        self.channels = channels
        self.eps = eps
        if affine:
            self.weight = nn.Parameter(torch.ones(channels))
            self.bias = nn.Parameter(torch.zeros(channels))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        return instance_norm(x, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.channels}, eps={self.eps}, affine={self.weight is not None}"


class ConditionalInstanceNorm2d(nn.Module):
    """Conditional instance normalisation: one scale/shift row per style, mixed by weight.

    A thin wrapper over :func:`conditional_instance_norm`; ``gamma`` and ``beta`` are the
    ``(num_styles, channels)`` tables (init 1 and 0).

    Args:
        num_styles: number of styles ``S`` (rows of the tables).
        channels: number of channels ``C``.
        eps: added to the biased variance inside the square root.

    Shape:
        - input: :math:`(N, C, H, W)` and style_weights :math:`(S)` or :math:`(N, S)`
        - output: :math:`(N, C, H, W)`

    Examples:
        >>> norm = ConditionalInstanceNorm2d(num_styles=5, channels=3)
        >>> norm(torch.rand(2, 3, 8, 8), torch.eye(5)[1]).shape
        torch.Size([2, 3, 8, 8])
    """

    def __init__(self, num_styles: int, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_styles = num_styles
        self.channels = channels
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(num_styles, channels))
        self.beta = nn.Parameter(torch.zeros(num_styles, channels))

    def forward(self, x: Tensor, style_weights: Tensor) -> Tensor:
        return conditional_instance_norm(x, style_weights, self.gamma, self.beta, self.eps)

    def extra_repr(self) -> str:
        return f"num_styles={self.num_styles}, channels={self.channels}, eps={self.eps}"
