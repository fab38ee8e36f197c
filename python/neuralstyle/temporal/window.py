"""One frame steadied by its window: the temporal render that the node (:mod:`neuralstyle.host`)
and the farm (:mod:`neuralstyle.farm.frame_renderer`) share, so a frame renders to the same bits
through either.

The caller says, for each frame of the window t-K..t+K that exists, how to stylise it and how to
get the picture optical flow sees, under content keys (:func:`~neuralstyle.temporal.frame_cache.
content_key`); :func:`steady` takes what it can from the process's
:class:`~neuralstyle.temporal.frame_cache.FrameCache`, makes the rest, and consolidates
(:func:`~neuralstyle.temporal.consolidate.consolidate`).

**Warm starts** (optimisation, :attr:`WindowFrame.warm`): a frame starts its optimisation from the
stylisation of the frame before it, moved onto it by the flow (its own picture where the flow is
not trusted), within segments of :data:`~neuralstyle.temporal.WARM_SEGMENT` frames aligned to
absolute frame numbers, so the chain never depends on where a render or a chunk began: the
caller passes the frames back to the segment start of the window's first frame. Measured on a pan
and a real clip (benchmarks/RESULTS.md, bm_optimize_warm): the warping error of the optimised
frames falls to about a quarter, and they come closer to the painting, in the same time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from neuralstyle.errors import InputError
from neuralstyle.temporal.consolidate import Neighbour, consolidate
from neuralstyle.temporal.flow import Flow, compose, flows_both_ways
from neuralstyle.temporal.frame_cache import FrameCache, content_key, frame_cache

__all__ = ["WindowFrame", "steadies", "steady"]


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
        warm: makes its stylisation starting from a picture (like ``source``), for methods
            that can (optimisation); None: it is stylised on its own.
        source: its picture in the output's units: the warm start's fallback where the flow is
            not trusted, and, for the frame being rendered, where its own render left the source
            as it was (a mask of 0, transparent pixels) the steadied frame does too.
        chain_start: it starts a warm-start segment (:func:`neuralstyle.temporal.starts_segment`).
    """

    offset: int
    plate: bytes
    key: bytes
    display: Callable[[], np.ndarray]
    stylise: Callable[[], np.ndarray]
    identity: bool = False
    warm: Callable[[np.ndarray], np.ndarray] | None = None
    source: np.ndarray | None = None
    chain_start: bool = True


def steadies(amount: float, identity: bool) -> bool:
    """Whether a frame is steadied at all: at a Stability amount of 0, or when its render is its
    source (strength 0), it is its own render, and its neighbours need not be read."""
    return amount > 0.0 and not identity


def steady(
    frames: Sequence[WindowFrame],
    *,
    radius: int,
    amount: float,
    cache: FrameCache | None = None,
) -> np.ndarray:
    """The output of the frame at offset 0 of ``frames``: its stylisation consolidated with the
    others' within ``radius`` (the window's K, which sets the temporal weights even where the
    window is cut short by the shot's ends; frames further back only feed warm starts). The
    returned array may be the cache's: do not modify it.

    Raises:
        InputError: no frame at offset 0, or frames of different sizes.
    """
    cache = frame_cache() if cache is None else cache
    own = next((f for f in frames if f.offset == 0), None)
    if own is None:
        raise InputError("a temporal window needs the frame being rendered (offset 0)")
    if not steadies(amount, own.identity):
        return cache.get_or_make(("styled", own.key), own.stylise)
    by_offset = {f.offset: f for f in frames}
    chains: dict[int, bytes] = {}
    styled = _stylised(cache, by_offset, own, chains)
    others = [f for f in frames if f.offset != 0 and abs(f.offset) <= radius]
    if not others:
        return styled
    neighbours = [
        Neighbour(
            other.offset,
            _stylised(cache, by_offset, other, chains),
            _flow(cache, by_offset, own, other),
        )
        for other in others
    ]
    # What the frame's own render left as its source stays so (a mask of 0, transparent pixels).
    keep = None if own.source is None else _same(styled, own.source)
    return consolidate(styled, neighbours, radius=radius, amount=amount, keep=keep)


def _stylised(
    cache: FrameCache,
    window: Mapping[int, WindowFrame],
    frame: WindowFrame,
    chains: dict[int, bytes],
) -> np.ndarray:
    """``frame``'s stylisation: on its own, or warm-started from the frame before it (module
    docstring), kept under the keys of the whole chain back to its segment's start."""
    before = window.get(frame.offset - 1)
    if frame.warm is None or frame.chain_start or before is None:
        return cache.get_or_make(("styled", frame.key), frame.stylise)
    warm = frame.warm

    def make() -> np.ndarray:
        return warm(_moved(cache, window, frame, before, _stylised(cache, window, before, chains)))

    return cache.get_or_make(("warm", _chain_key(window, frame, chains)), make)


def _chain_key(
    window: Mapping[int, WindowFrame], frame: WindowFrame, chains: dict[int, bytes]
) -> bytes:
    """The key of ``frame`` and of every frame back to its segment's start."""
    if frame.offset not in chains:
        before = window.get(frame.offset - 1)
        if frame.chain_start or before is None:
            chains[frame.offset] = frame.key
        else:
            after = _chain_key(window, before, chains).hex()
            chains[frame.offset] = content_key(settings={"frame": frame.key.hex(), "after": after})
    return chains[frame.offset]


def _moved(
    cache: FrameCache,
    window: Mapping[int, WindowFrame],
    frame: WindowFrame,
    before: WindowFrame,
    styled: np.ndarray,
) -> np.ndarray:
    """``styled`` (``before``'s stylisation) moved onto ``frame`` by the flow; ``frame``'s own
    picture where the flow is not trusted (occlusions, the edges)."""
    from neuralstyle.temporal.warp import remap

    if frame.source is None:
        raise InputError("a warm-started frame needs its source picture")
    h, w = styled.shape[:2]
    flow = _flow(cache, window, frame, before).resized(h, w)
    moved = remap(np.asarray(styled, dtype=np.float32), flow.vectors)
    trust = flow.confidence[..., None]
    values: np.ndarray = trust * moved + (1.0 - trust) * frame.source
    if styled.dtype.kind in "ui":
        values = np.clip(np.rint(values), 0, np.iinfo(styled.dtype).max)
    return np.asarray(values, dtype=styled.dtype)


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
    frames = [window.get(o) for o in range(target.offset, source.offset + step, step)]
    between = frames[1]
    if len(frames) == 2 or between is None or None in frames:  # neighbours, or a gap
        return _pair(cache, target, source)
    path = tuple(f.plate for f in frames if f is not None)
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
        return flows_both_ways(a, b)

    pair = cache.get_or_make(("flows", first.plate, second.plate), make)
    return pair[0] if first is target else pair[1]


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W) bool: where every channel of ``a`` equals ``b``'s (torch's two threads: half of
    numpy's 27 ms at 1080p; numpy's for a host's bottom-up rows, which torch cannot view)."""
    import torch  # consolidate imported it already

    if min(a.strides + b.strides) < 0:
        same: np.ndarray = (a == b).all(axis=-1)
        return same
    return torch.from_numpy(a).eq(torch.from_numpy(np.asarray(b, dtype=a.dtype))).all(-1).numpy()


def _size(display: np.ndarray) -> str:
    return f"{display.shape[1]}x{display.shape[0]}"
