"""One frame steadied by its window: the temporal render that the node (:mod:`neuralstyle.host`)
and the farm (:mod:`neuralstyle.farm.frame_renderer`) share, so a frame renders to the same bits
through either.

The caller says, for each frame of the window t-K..t+K that exists, how to stylise it and how to
get the picture optical flow sees, under content keys (:func:`~neuralstyle.temporal.frame_cache.
content_key`); :func:`steady` takes what it can from the process's
:class:`~neuralstyle.temporal.frame_cache.FrameCache`, makes the rest, and consolidates
(:func:`~neuralstyle.temporal.consolidate.consolidate`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from neuralstyle.errors import InputError
from neuralstyle.temporal.consolidate import Neighbour, consolidate
from neuralstyle.temporal.flow import CONSOLIDATION_SIDE, Flow, compose, flows_both_ways
from neuralstyle.temporal.frame_cache import FrameCache, frame_cache

__all__ = ["WindowFrame", "steady"]


@dataclass(frozen=True)
class WindowFrame:
    """A frame of the window.

    Attributes:
        offset: frames from the one being rendered (0: that frame).
        plate: the content key of its source plate as flow sees it (flows depend on it alone).
        key: the content key of its stylisation (plate, mask, every parameter at its time).
        display: makes the ``(H, W, 3)`` uint8 picture flow sees
            (:func:`~neuralstyle.temporal.consolidate.display_for_flow`).
        stylise: makes its stylisation, ``(H, W, C)`` in the output's dtype.
        identity: its render is its source (strength 0): as the rendered frame it is left so,
            bit-exact, whatever its neighbours are.
    """

    offset: int
    plate: bytes
    key: bytes
    display: Callable[[], np.ndarray]
    stylise: Callable[[], np.ndarray]
    identity: bool = False


def steady(
    frames: Sequence[WindowFrame],
    *,
    radius: int,
    amount: float,
    cache: FrameCache | None = None,
) -> np.ndarray:
    """The output of the frame at offset 0 of ``frames``: its stylisation consolidated with the
    others' (``radius``: the window's K, which sets the temporal weights even where the window
    is cut short by the shot's ends). The returned array may be the cache's: do not modify it.

    Raises:
        InputError: no frame at offset 0, or frames of different sizes.
    """
    cache = frame_cache() if cache is None else cache
    own = next((f for f in frames if f.offset == 0), None)
    if own is None:
        raise InputError("a temporal window needs the frame being rendered (offset 0)")
    styled = cache.get_or_make(("styled", own.key), own.stylise)
    others = [f for f in frames if f.offset != 0]
    if amount == 0.0 or not others or own.identity:
        return styled
    by_offset = {f.offset: f for f in frames}
    neighbours = [
        Neighbour(
            other.offset,
            cache.get_or_make(("styled", other.key), other.stylise),
            _flow(cache, by_offset, own, other),
        )
        for other in others
    ]
    return consolidate(styled, neighbours, radius=radius, amount=amount)


def _flow(
    cache: FrameCache,
    window: Mapping[int, WindowFrame],
    target: WindowFrame,
    source: WindowFrame,
) -> Flow:
    """The backward flow from ``target``'s plate into ``source``'s: DIS between neighbouring
    frames, chained through the frames between for farther ones (flow.compose), so each new
    frame of a sequential render costs one pair of DIS runs whatever K is. A chain is kept
    under the plates of every frame it passes through."""
    step = 1 if source.offset > target.offset else -1
    between = window.get(target.offset + step)
    if source.offset == target.offset + step or between is None:
        return _pair(cache, target, source)
    path = tuple(window[o].plate for o in range(target.offset, source.offset + step, step))
    return cache.get_or_make(
        ("chain", path),
        lambda: compose(_pair(cache, target, between), _flow(cache, window, between, source)),
    )


def _pair(cache: FrameCache, target: WindowFrame, source: WindowFrame) -> Flow:
    """DIS from ``target``'s plate into ``source``'s. Both directions come from one pair of
    runs and are kept as one entry: the other frame's render reads the other direction (the
    two calls' directions have the same bits: flows_both_ways)."""
    first, second = sorted((target, source), key=lambda f: f.plate)

    def make() -> tuple[Flow, Flow]:
        a = cache.get_or_make(("display", first.plate), first.display)
        b = cache.get_or_make(("display", second.plate), second.display)
        if a.shape != b.shape:
            there, here = (a, b) if first is source else (b, a)
            raise InputError(
                f"the frame {source.offset:+d} away is {_size(there)}, the frame being "
                f"rendered {_size(here)}: a shot's frames must be the same size"
            )
        return flows_both_ways(a, b, max_side=CONSOLIDATION_SIDE)

    pair = cache.get_or_make(("flows", first.plate, second.plate), make)
    return pair[0] if first is target else pair[1]


def _size(display: np.ndarray) -> str:
    return f"{display.shape[1]}x{display.shape[0]}"
