"""The adversarial term: a PatchGAN discriminator (Isola et al. 2017) on the painting's patches
against the generator's, with spectral normalisation (Miyato et al. 2018) and the hinge loss.

Each output position judges one receptive field of 70x70 pixels: real patches are random crops
of the painting, fake ones the stylised training crops. The generator's term is the hinge
generator loss ``-mean(D(fake))``, added to the perceptual loss with the ``adversarial`` weight.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

__all__ = ["PatchDiscriminator", "discriminator_hinge", "generator_hinge"]


class PatchDiscriminator(nn.Module):
    """Four 4x4 convolutions, strides 2, 2, 2, 1, channels 32-64-128-256, LeakyReLU 0.2, and a
    4x4 convolution to one logit per patch; every convolution spectrally normalised.

    Shape:
        - input: :math:`(N, 3, H, W)` in [0, 1], H, W >= 32
        - output: :math:`(N, 1, H / 8 - 2, W / 8 - 2)` logits
    """

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = (3, width, 2 * width, 4 * width, 8 * width)
        for i, (cin, cout) in enumerate(pairwise(channels)):
            stride = 2 if i < 3 else 1
            layers += [spectral_norm(nn.Conv2d(cin, cout, 4, stride, 1)), nn.LeakyReLU(0.2)]
        layers.append(spectral_norm(nn.Conv2d(channels[-1], 1, 4, 1, 1)))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.layers(x * 2 - 1)
        return out


def discriminator_hinge(real: Tensor, fake: Tensor) -> Tensor:
    """``mean(relu(1 - D(real))) + mean(relu(1 + D(fake)))``."""
    return torch.relu(1 - real).mean() + torch.relu(1 + fake).mean()


def generator_hinge(fake: Tensor) -> Tensor:
    """``-mean(D(fake))``: the generator pushes its patches' scores up."""
    return -fake.mean()
