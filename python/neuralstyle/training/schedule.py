"""The learning-rate schedule the trainers share."""

from __future__ import annotations

import math

__all__ = ["lr_at"]


def lr_at(
    step: int,
    *,
    steps: int,
    lr: float,
    lr_final: float,
    warmup: int,
    time_fraction: float = 0.0,
) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay from ``lr`` to ``lr_final`` over
    the steps or a time budget (``time_fraction`` of it used), whichever runs out first, so that
    a time-bounded run still ends at the final rate."""
    if step < warmup:
        return lr * (step + 1) / warmup
    p = max((step - warmup) / max(1, steps - warmup), time_fraction)
    return lr_final + 0.5 * (lr - lr_final) * (1 + math.cos(math.pi * min(1.0, p)))
