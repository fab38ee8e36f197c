"""The optimisation loop of one pyramid level (L-BFGS with a strong-Wolfe line search, or Adam)
and how each loss evaluation is reported: :class:`OptimizeProgress` to the callback, a tick to
the progress bar.

Apart from the objective because the loop knows nothing of VGG or style: it minimises a function
of the image, counting evaluations so that ``steps`` bounds the work for either optimiser. A
callback that raises aborts the render from inside the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from tqdm.auto import tqdm

from neuralstyle.methods.gatys_objective import GatysObjective, LossParts
from neuralstyle.methods.optimize_settings import OptimizeSettings

__all__ = ["OptimizeProgress", "level_reporter", "run_level"]


@dataclass(frozen=True)
class OptimizeProgress:
    """One loss evaluation, as reported to the callback.

    ``level`` counts from 0 (coarsest) to ``levels - 1`` (the full working size); ``step`` counts
    evaluations within the level from 1. Loss values are the weighted terms. ``done`` is the
    fraction of the whole render's work behind it, each evaluation weighted by its level's
    pixels: an evaluation at the full size of a two-level pyramid costs four of the coarse
    level's, so a count of evaluations would promise the end four times too early when the
    coarse level ends (a progress bar's time estimate is only as good as this fraction).
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
    done: float = 0.0


def level_reporter(
    *,
    bar: tqdm,
    callback: Callable[[OptimizeProgress], None] | None,
    level: int,
    levels: int,
    steps: int,
    size: tuple[int, int],
    work_before: int,
    work_total: int,
) -> Callable[[int, LossParts], None]:
    """``report(step, parts)`` for one level: moves ``bar`` and, with a ``callback``, reads the
    terms back to the host (a device sync per evaluation only when someone listens).

    Work is counted in pixel-evaluations: ``work_before`` those of the levels before this one,
    ``work_total`` the render's (``steps`` times each level's pixels, summed)."""
    pixels = size[0] * size[1]

    def report(step: int, parts: LossParts) -> None:
        # L-BFGS's last line search may overrun the level's budget by a few evaluations
        done = min(work_before + min(step, steps) * pixels, work_total) / work_total
        bar.update(done - bar.n)
        if callback is not None:
            total, c, st, tv, pyr = (float(p.detach()) for p in parts)
            callback(
                OptimizeProgress(level, levels, step, steps, size, total, c, st, tv, pyr, done)
            )

    return report


def run_level(
    x: Tensor,
    objective: GatysObjective,
    s: OptimizeSettings,
    report: Callable[[int, LossParts], None],
) -> Tensor:
    """Minimise ``objective`` from ``x`` (a leaf that requires grad, updated in place) with
    ``s.optimizer`` for about ``s.steps`` evaluations; returns ``x``. Adam clamps to [0, 1]
    after each step; L-BFGS runs unclamped (the caller clamps between levels)."""
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
