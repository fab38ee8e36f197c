r"""Colour preservation (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style
Transfer", section 5): keep the content's colours and take only the style's texture.

Two methods, both method-agnostic (they wrap any stylisation):

- **Luminance-only transfer**: stylise the luminance alone (content luminance, and style
  luminance matched to the content's mean and deviation), then recombine the stylised luminance
  with the content's chroma in YIQ. Content chroma is kept exactly (up to the final clamp).
- **Colour histogram matching**: recolour the style image so its colours have the content's mean
  and covariance (:math:`x' = A (x - \mu_s) + \mu_c` with :math:`A \Sigma_s A^T = \Sigma_c`), then
  stylise normally. Global palette of the content, local colour from the style's structure.

Use :func:`prepare_colour` on the inputs and :func:`finish_colour` on the result.

Images are RGB in [0, 1] (display-referred working encoding). YIQ is the NTSC transform.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import torch
from torch import Tensor, nn

from neuralstyle.controls._checks import check_rgb
from neuralstyle.errors import InputError
from neuralstyle.tensor_words import describe

__all__ = [
    "ColourMode",
    "MatchColorHistogram",
    "RgbToYiq",
    "YiqToRgb",
    "finish_colour",
    "luminance",
    "match_color_histogram",
    "match_luminance",
    "prepare_colour",
    "rgb_to_yiq",
    "transfer_chroma",
    "yiq_to_rgb",
]

ColourMode = Literal["none", "luminance", "histogram"]
HistogramMode = Literal["sym", "cholesky"]

_RGB_TO_YIQ = (
    (0.299, 0.587, 0.114),
    (0.595716, -0.274453, -0.321263),
    (0.211456, -0.522591, 0.311135),
)


def _matrix(inverse: bool, x: Tensor) -> Tensor:
    m = torch.tensor(_RGB_TO_YIQ, dtype=torch.float64)
    if inverse:
        m = torch.linalg.inv(m)
    return m.to(x.device, x.dtype)


def _apply(m: Tensor, x: Tensor) -> Tensor:
    return torch.einsum("ij,njhw->nihw", m, x)


def rgb_to_yiq(image: Tensor) -> Tensor:
    """RGB to YIQ (Y = luminance, I/Q = chroma).

    Shape:
        - image: :math:`(N, 3, H, W)`
        - output: :math:`(N, 3, H, W)` channels Y, I, Q
    """
    check_rgb("rgb_to_yiq", "image", image)
    return _apply(_matrix(False, image), image)


def yiq_to_rgb(image: Tensor) -> Tensor:
    """YIQ back to RGB (exact inverse of :func:`rgb_to_yiq`, not clamped).

    Shape:
        - image: :math:`(N, 3, H, W)` channels Y, I, Q
        - output: :math:`(N, 3, H, W)`
    """
    check_rgb("yiq_to_rgb", "image", image)
    return _apply(_matrix(True, image), image)


def luminance(image: Tensor) -> Tensor:
    """The Y channel of :func:`rgb_to_yiq`.

    Shape:
        - image: :math:`(N, 3, H, W)`
        - output: :math:`(N, 1, H, W)`
    """
    return rgb_to_yiq(image)[:, :1]


def match_luminance(style: Tensor, content: Tensor) -> Tensor:
    r"""The style's luminance shifted and scaled to the content luminance's mean and deviation
    (:math:`L_s' = \frac{\sigma_c}{\sigma_s}(L_s - \mu_s) + \mu_c`), as a grey RGB image.

    Shape:
        - style: :math:`(N, 3, H_s, W_s)`
        - content: :math:`(N, 3, H, W)` or :math:`(1, 3, H, W)`
        - output: :math:`(N, 3, H_s, W_s)` grey (three equal channels)
    """
    ls, lc = luminance(style), luminance(content)
    eps = torch.finfo(ls.dtype).eps
    var_s, mu_s = torch.var_mean(ls, dim=(1, 2, 3), keepdim=True, correction=0)
    var_c, mu_c = torch.var_mean(lc, dim=(1, 2, 3), keepdim=True, correction=0)
    out = (ls - mu_s) * ((var_c + eps) / (var_s + eps)).sqrt() + mu_c
    return out.expand(-1, 3, -1, -1).contiguous()


def transfer_chroma(stylised: Tensor, content: Tensor) -> Tensor:
    """Luminance of ``stylised`` with the chroma (I, Q) of ``content``.

    Where that colour would leave the RGB cube, the luminance is moved to the nearest value at
    which the content's chroma fits (it always fits at the content's own luminance), instead of
    clipping each channel, which would bleach the chroma that this transfer is meant to keep.

    Shape:
        - stylised: :math:`(N, 3, H, W)`
        - content: :math:`(N, 3, H, W)` (same size)
        - output: :math:`(N, 3, H, W)`
    """
    check_rgb("transfer_chroma", "stylised", stylised)
    check_rgb("transfer_chroma", "content", content)
    if content.shape[-2:] != stylised.shape[-2:]:
        raise InputError(
            f"transfer_chroma: content {describe(content)} and stylised {describe(stylised)} "
            "must have the same size"
        )
    chroma = rgb_to_yiq(content)[:, 1:]
    # RGB = Y + offset: every row of the inverse YIQ matrix has 1 as its Y coefficient.
    offset = yiq_to_rgb(torch.cat([torch.zeros_like(chroma[:, :1]), chroma], dim=1))
    low = (-offset).amax(dim=1, keepdim=True)
    high = (1.0 - offset).amin(dim=1, keepdim=True)
    y = rgb_to_yiq(stylised)[:, :1]
    y = torch.minimum(torch.maximum(y, low), high.maximum(low))
    return (y + offset).clamp(0.0, 1.0)


def _sqrtm(cov: Tensor, inverse: bool) -> Tensor:
    vals, vecs = torch.linalg.eigh(cov)
    vals = vals.clamp_min(1e-8)
    d = vals.rsqrt() if inverse else vals.sqrt()
    out: Tensor = vecs @ torch.diag_embed(d) @ vecs.transpose(-1, -2)
    return out


def _mean_cov(x: Tensor) -> tuple[Tensor, Tensor]:
    flat = x.flatten(2).to(torch.float64)  # (N, 3, P)
    mu = flat.mean(dim=2, keepdim=True)
    centred = flat - mu
    cov = centred @ centred.transpose(1, 2) / flat.shape[2]
    return mu, cov + 1e-6 * torch.eye(3, dtype=cov.dtype, device=cov.device)


def match_color_histogram(source: Tensor, target: Tensor, mode: HistogramMode = "sym") -> Tensor:
    r"""Recolour ``source`` so its colours have the mean and covariance of ``target``'s
    (the linear colour transfer of Gatys et al. 2017; used with source = style,
    target = content). Clamped to [0, 1].

    Args:
        source: the image to recolour (the style).
        target: the image whose colour statistics to take (the content).
        mode: ``"sym"``: :math:`A = \Sigma_t^{1/2} \Sigma_s^{-1/2}` (symmetric square roots,
            the "Image Analogies" form); ``"cholesky"``: :math:`A = L_t L_s^{-1}`.

    Shape:
        - source: :math:`(N, 3, H_s, W_s)`
        - target: :math:`(N, 3, H, W)` or :math:`(1, 3, H, W)`
        - output: :math:`(N, 3, H_s, W_s)`
    """
    fn = "match_color_histogram"
    check_rgb(fn, "source", source)
    check_rgb(fn, "target", target)
    if target.shape[0] not in (1, source.shape[0]):
        raise InputError(
            f"{fn}: target {describe(target)} does not match source {describe(source)}"
        )
    if mode not in get_args(HistogramMode):
        raise InputError(f"{fn}: unknown mode {mode!r}; expected one of {get_args(HistogramMode)}")
    mu_s, cov_s = _mean_cov(source)
    mu_t, cov_t = _mean_cov(target)
    if mode == "sym":
        a = _sqrtm(cov_t, inverse=False) @ _sqrtm(cov_s, inverse=True)
    else:
        a = torch.linalg.cholesky(cov_t) @ torch.linalg.inv(torch.linalg.cholesky(cov_s))
    flat = source.flatten(2).to(torch.float64)
    out = a @ (flat - mu_s) + mu_t
    return out.view_as(source).to(source.dtype).clamp(0.0, 1.0)


def prepare_colour(
    content: Tensor, styles: Sequence[Tensor], mode: ColourMode
) -> tuple[Tensor, list[Tensor]]:
    """The inputs to stylise for a colour-preservation mode.

    ``"none"``: unchanged. ``"luminance"``: the content's luminance and each style's luminance
    matched to it, as grey RGB. ``"histogram"``: the content unchanged, each style recoloured
    to the content's colour statistics.

    Shape:
        - content: :math:`(1, 3, H, W)`
        - styles: each :math:`(1, 3, H_i, W_i)`
        - output: the same shapes
    """
    if mode not in get_args(ColourMode):
        raise InputError(f"unknown colour mode {mode!r}; expected one of {get_args(ColourMode)}")
    check_rgb("prepare_colour", "content", content)
    if mode == "none":
        return content, list(styles)
    if mode == "histogram":
        return content, [match_color_histogram(s, content) for s in styles]
    grey = luminance(content).expand(-1, 3, -1, -1).contiguous()
    return grey, [match_luminance(s, content) for s in styles]


def finish_colour(result: Tensor, content: Tensor, mode: ColourMode) -> Tensor:
    """The final image for a colour-preservation mode: for ``"luminance"`` the stylised
    luminance with the content's chroma; otherwise ``result`` unchanged.

    Shape:
        - result, content: :math:`(N, 3, H, W)`
        - output: :math:`(N, 3, H, W)`
    """
    if mode == "luminance":
        return transfer_chroma(result, content)
    return result


class RgbToYiq(nn.Module):
    """:func:`rgb_to_yiq` as a module. Shape: :math:`(N, 3, H, W) \\to (N, 3, H, W)`."""

    def forward(self, image: Tensor) -> Tensor:
        return rgb_to_yiq(image)


class YiqToRgb(nn.Module):
    """:func:`yiq_to_rgb` as a module. Shape: :math:`(N, 3, H, W) \\to (N, 3, H, W)`."""

    def forward(self, image: Tensor) -> Tensor:
        return yiq_to_rgb(image)


class MatchColorHistogram(nn.Module):
    """:func:`match_color_histogram` towards a fixed target image.

    Shape:
        - input: :math:`(N, 3, H_s, W_s)`
        - output: :math:`(N, 3, H_s, W_s)`
    """

    target: Tensor

    def __init__(self, target: Tensor, mode: HistogramMode = "sym") -> None:
        super().__init__()
        self.register_buffer("target", target.detach())
        self.mode = mode

    def forward(self, source: Tensor) -> Tensor:
        return match_color_histogram(source, self.target, self.mode)
