"""MobileNetV2 (Sandler et al. 2018), width 1.0, as a feature extractor with TensorFlow padding.

The style predictor of the arbitrary stylisation network (Ghiasi et al. 2017) is the TF-Slim
MobileNetV2 up to its last 1x1 convolution; we rebuild it from the paper's configuration table.

=========  ==================================================================================
stem       conv 3x3 s2 3->32, ReLU6
blocks     17 inverted residuals from :data:`CONFIG`: 1x1 expand (t > 1) + ReLU6, 3x3 depthwise
           + ReLU6, 1x1 project (linear); the input is added when stride 1 and channels match
head       conv 1x1 320->1280, ReLU6
=========  ==================================================================================

Every convolution has a bias (the batch norms are folded in) and pads like TensorFlow's
``"SAME"``: the output has ``ceil(size / stride)`` pixels and an odd total padding puts the extra
pixel at the bottom/right. For a stride-2 3x3 on an even size that is one pixel at the bottom and
right and none at the top and left, which a symmetric ``padding=1`` would get wrong.
"""

from __future__ import annotations

import math

from torch import Tensor, nn
from torch.nn.functional import conv2d, pad, relu6

__all__ = ["CONFIG", "OUT_CHANNELS", "STEM_CHANNELS", "InvertedResidual", "MobileNetV2"]

#: One row per stage: (expansion t, output channels c, blocks n, stride of the first block s).
CONFIG: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
STEM_CHANNELS = 32
OUT_CHANNELS = 1280


class SameConv2d(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow ``"SAME"`` zero padding, computed from the input size."""

    def forward(self, x: Tensor) -> Tensor:
        pads = []  # F.pad order: left, right, top, bottom
        for size, k, s in zip(
            x.shape[:-3:-1], self.kernel_size[::-1], self.stride[::-1], strict=True
        ):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        left, right, top, bottom = pads
        if left == right and top == bottom:  # symmetric: let the conv pad, no copy
            return conv2d(x, self.weight, self.bias, self.stride, (top, left), 1, self.groups)
        return conv2d(pad(x, pads), self.weight, self.bias, self.stride, 0, 1, self.groups)


class InvertedResidual(nn.Module):
    r"""1x1 expand + ReLU6 (absent when ``expansion == 1``), 3x3 depthwise + ReLU6, 1x1 project.

    Shape:
        - input: :math:`(N, C_{in}, H, W)`
        - output: :math:`(N, C_{out}, \lceil H/s \rceil, \lceil W/s \rceil)`
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        self.expand = SameConv2d(in_channels, hidden, 1) if expansion != 1 else None
        self.depthwise = SameConv2d(hidden, hidden, 3, stride=stride, groups=hidden)
        self.project = SameConv2d(hidden, out_channels, 1)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        y = x if self.expand is None else relu6(self.expand(x), inplace=True)
        y = self.project(relu6(self.depthwise(y), inplace=True))
        out: Tensor = x + y if self.residual else y
        return out


class MobileNetV2(nn.Module):
    r"""MobileNetV2 features before pooling, width multiplier 1.0.

    A fresh instance is untrained (``nn.Conv2d``'s default initialisation). It has no input
    normalisation of its own: weights converted from a graph that expects [0, 1] pixels take
    [0, 1] pixels.

    Shape:
        - input: :math:`(N, 3, H, W)`, any H, W >= 1
        - output: :math:`(N, 1280, \lceil H/32 \rceil, \lceil W/32 \rceil)`, after ReLU6

    Examples:
        >>> MobileNetV2()(torch.rand(1, 3, 70, 45)).shape
        torch.Size([1, 1280, 3, 2])
    """

    def __init__(self) -> None:
        super().__init__()
        self.stem = SameConv2d(3, STEM_CHANNELS, 3, stride=2)
        blocks, channels = [], STEM_CHANNELS
        for expansion, out_channels, repeats, first_stride in CONFIG:
            for i in range(repeats):
                stride = first_stride if i == 0 else 1
                blocks.append(InvertedResidual(channels, out_channels, stride, expansion))
                channels = out_channels
        self.blocks = nn.ModuleList(blocks)
        self.head = SameConv2d(channels, OUT_CHANNELS, 1)

    def forward(self, x: Tensor) -> Tensor:
        x = relu6(self.stem(x), inplace=True)
        for block in self.blocks:
            x = block(x)
        return relu6(self.head(x), inplace=True)
