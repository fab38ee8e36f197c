"""The Gatys loss of one pyramid level: :class:`GatysObjective`.

It holds the targets, each divided by its value for an all-zero feature map so that every term is
a relative error: the content features, and the styles' Gram matrices (the caller's,
:func:`~neuralstyle.methods.optimize_tiles.band_grams`) mixed or per masked region; and the pyramid
term that ties the level to the one below. The targets are computed once per level; each
call encodes the image once for all layers. The optimiser sees only a function of the image.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.functional import interpolate

from neuralstyle.controls.blend import mix_layers
from neuralstyle.controls.spatial import resize_mask
from neuralstyle.losses.content import feature_reconstruction_loss
from neuralstyle.losses.regularization import total_variation_loss
from neuralstyle.losses.style import gram_loss
from neuralstyle.methods.optimize_settings import OptimizeSettings
from neuralstyle.models.encoder import MultiLayerEncoder

__all__ = ["GatysObjective", "LossParts"]

#: The weighted terms of one evaluation: total, content, style, TV, pyramid (0-dim tensors).
LossParts = tuple[Tensor, Tensor, Tensor, Tensor, Tensor]


class GatysObjective:
    """The loss of one pyramid level: targets computed once, the image's features once per call."""

    def __init__(
        self,
        *,
        encoder: MultiLayerEncoder,
        content: Tensor,
        grams: list[dict[str, Tensor]],
        weights: list[float],
        masks: list[Tensor] | None,
        anchor: Tensor | None,
        s: OptimizeSettings,
    ) -> None:
        self.encoder = encoder
        self.s = s
        self.anchor = anchor
        self.layers = list(dict.fromkeys([*s.content_layers, *s.style_layers]))
        with torch.no_grad():
            self.content = encoder(content, s.content_layers)
            self.content_norm = {
                k: v.square().mean().clamp_min(1e-12) for k, v in self.content.items()
            }
        self.regions: list[tuple[float, dict[str, Tensor], dict[str, Tensor] | None]] = []
        if masks is None:
            self.regions.append((1.0, mix_layers(grams, weights), None))
        else:
            with torch.no_grad():  # the style layers' grids for this frame size
                grids = {k: v.shape[-2:] for k, v in encoder(content, s.style_layers).items()}
            for g, w, m in zip(grams, weights, masks, strict=True):
                layer_masks = {k: resize_mask(m, (int(h), int(wd))) for k, (h, wd) in grids.items()}
                self.regions.append((w, g, layer_masks))
        # E_l of an all-zero feature map: mean(A**2) / 4
        self.style_norm = [
            {k: a.square().mean().div(4).clamp_min(1e-12) for k, a in targets.items()}
            for _, targets, _ in self.regions
        ]

    def __call__(self, x: Tensor) -> LossParts:
        feats = self.encoder(x, self.layers)
        c = x.new_zeros(())
        for k, target in self.content.items():
            c = c + feature_reconstruction_loss(feats[k], target) / self.content_norm[k]
        st = x.new_zeros(())
        for (w, targets, masks), norms in zip(self.regions, self.style_norm, strict=True):
            for k, a in targets.items():
                m = None if masks is None else masks[k]
                st = st + w * gram_loss(feats[k], a, m) / norms[k]
        st = st / len(self.s.style_layers)
        tv = total_variation_loss(x)
        s = self.s
        c, st, tv = s.content_weight * c, s.style_weight * st, s.tv_weight * tv
        pyr = x.new_zeros(())
        if self.anchor is not None and s.pyramid_weight > 0:
            down = interpolate(x, size=self.anchor.shape[-2:], mode="area")
            pyr = s.pyramid_weight * (down - self.anchor).square().mean()
        return c + st + tv + pyr, c, st, tv, pyr
