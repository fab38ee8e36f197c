"""The settings of one ``neuralstyle train`` run: every number that shapes the result.

They go into the checkpoint's JSON (a resumed run must have the same ones), the trained file's
metadata and the benchmark records. The defaults are a CPU draft: 256 px crops, batch 2; a whole
network starts from the built-in network's weights (fine-tuning, not hours from scratch) and a
bank style trains only its own scale and shift rows.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from neuralstyle.errors import InputError

__all__ = ["STYLE_SIDE_PER_CROP", "Mode", "TrainSettings", "default_steps"]

Mode = Literal["network", "bank"]

#: Steps of the defaults per mode, from a step's measured 1.0 s on 2 free cores at 256 px:
#: about 17 and 5 minutes (benchmarks/RESULTS.md, bm_train: whether they are enough).
_DEFAULT_STEPS: dict[str, int] = {"network": 1000, "bank": 300}


def default_steps(mode: Mode) -> int:
    return _DEFAULT_STEPS[mode]


#: The painting's default long side per pixel of the crop side. The crops are cut from photographs
#: scaled to 1-2 crop sides on their short side, and the engine's arbitrary-style methods take a
#: painting at the frame's own size, so the painting stands at the middle of those frames' sizes.
#: Measured (benchmarks/RESULTS.md, bm_train, fifth measurement; 400 steps at 256 px): 1.0 left
#: the strokes too fine (style distance 0.354), 1.5 gave 0.289, 2.0 strokes too large for the
#: network to learn from 256 px crops (0.495, blurred).
STYLE_SIDE_PER_CROP = 1.5


@dataclass(frozen=True)
class TrainSettings:
    """One run's settings (``steps`` None: the mode's default).

    Attributes:
        mode: ``"network"`` (every weight trains: best) or ``"bank"`` (only the new style's
            conditional-instance-norm rows, against the built-in convolutions: fast).
        steps, batch, size: optimiser steps, crops per step, crop side in pixels.
        style_size: the painting's long side when its Gram matrices are taken (0: 1.5 times
            ``size``, :data:`STYLE_SIDE_PER_CROP`); larger paints larger strokes.
        lr, lr_final, warmup: Adam's rate, cosine-decayed to ``lr_final`` after ``warmup``.
        content_weight, style_weight, tv_weight: the perceptual loss
            (:mod:`neuralstyle.training.perceptual`).
        adversarial: weight of the PatchGAN term (0: off); d_lr is its discriminator's rate.
        stability: weight of the shifted-and-noised consistency term (0: off); shift and noise
            are its largest shift in pixels and the noise's standard deviation.
        init: ``"builtin"`` (start from the built-in network, the mean of its 26 styles) or
            ``"random"`` (a network from scratch; many hours, a GPU's job).
        seed: every random choice (crops, flips, shifts, noise, initial weights) follows it.
        device, threads: where it trains and torch's CPU threads.
    """

    mode: Mode = "network"
    steps: int | None = None
    batch: int = 2
    size: int = 256
    style_size: int = 0
    lr: float = 1e-3
    lr_final: float = 1e-4
    warmup: int = 20
    content_weight: float = 1.0
    style_weight: float = 5.0
    tv_weight: float = 10.0
    adversarial: float = 0.0
    d_lr: float = 2e-4
    stability: float = 0.0
    shift: int = 8
    noise: float = 0.02
    init: Literal["builtin", "random"] = "builtin"
    seed: int = 0
    device: str = "cpu"
    threads: int = 2

    def __post_init__(self) -> None:
        _check(self)

    @property
    def total_steps(self) -> int:
        return default_steps(self.mode) if self.steps is None else self.steps

    @property
    def style_side(self) -> int:
        return self.style_size or round(STYLE_SIDE_PER_CROP * self.size)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainSettings:
        """The settings a checkpoint or a trained file recorded.

        Raises:
            InputError: unknown or missing keys, or bad values.
        """
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InputError(f"training settings: unknown keys {', '.join(unknown)}")
        return cls(**data)

    def but(self, **changes: Any) -> TrainSettings:
        return replace(self, **changes)


def _check(s: TrainSettings) -> None:
    def positive_int(name: str, value: object, low: int = 1) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(f"training: {name} must be an integer >= {low}, got {value!r}")

    def non_negative(name: str, value: object) -> None:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or not math.isfinite(float(value)) or float(value) < 0:  # type: ignore[arg-type]
            raise InputError(f"training: {name} must be a number >= 0, got {value!r}")

    if s.mode not in ("network", "bank"):
        raise InputError(f"training: mode must be network or bank, got {s.mode!r}")
    if s.init not in ("builtin", "random"):
        raise InputError(f"training: init must be builtin or random, got {s.init!r}")
    if s.mode == "bank" and s.init != "builtin":
        raise InputError(
            "training: a bank style trains against the built-in network (init builtin)"
        )
    if s.steps is not None:
        positive_int("steps", s.steps)
    positive_int("batch", s.batch)
    positive_int("size", s.size, 32)
    positive_int("style_size", s.style_size, 0)
    if 0 < s.style_size < 32:
        raise InputError(f"training: style_size must be 0 or at least 32, got {s.style_size}")
    positive_int("warmup", s.warmup, 0)
    positive_int("shift", s.shift, 1)
    positive_int("threads", s.threads)
    positive_int("seed", s.seed, 0)
    if s.shift >= s.size // 4:
        raise InputError(f"training: shift must be under a quarter of size, got {s.shift}")
    for name in ("lr", "lr_final", "content_weight", "style_weight", "tv_weight",
                 "adversarial", "d_lr", "stability", "noise"):  # fmt: skip
        non_negative(name, getattr(s, name))
    if s.lr <= 0:
        raise InputError(f"training: lr must be above 0, got {s.lr}")
