"""What determines an optimisation result besides the images: :class:`OptimizeSettings`, the
Gatys layer choice and the quality presets.

Kept apart from the loop so that the engine's request and the benchmarks can build and check
settings (and the memory plan, :mod:`~neuralstyle.methods.optimize_memory`) without reading the
optimisation itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal, get_args

from neuralstyle.errors import InputError

__all__ = [
    "QUALITY_STEPS",
    "STYLE_LAYERS",
    "Init",
    "OptimizeSettings",
    "Optimizer",
    "Quality",
]

Optimizer = Literal["lbfgs", "adam"]
Init = Literal["content", "noise"]
Quality = Literal["draft", "standard", "high"]

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
# loss evaluations per pyramid level
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
