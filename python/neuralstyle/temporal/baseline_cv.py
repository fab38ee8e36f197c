"""OpenCV's baseline code, which gives the same bits on every x86-64 CPU, and a second thread for
the temporal layer's work that runs on one core.

``cv2.setUseOptimized(False)`` runs the wheel's unoptimised code (:mod:`neuralstyle.temporal.flow`,
"Determinism"). The switch is half process-wide, half per thread: it turns the dispatch of SIMD
code off for the process, but Intel IPP only for the thread that calls it. Measured: DIS on a
thread that had not switched itself, while another held the switch off, gave other bits than
both the optimised and the baseline code. So :func:`baseline_opencv` switches under a lock, one
block at a time, and :func:`side_by_side`'s helper thread switches its own IPP off when it works
for a block.

OpenCV's box blur and the flow's numpy checks run on one core, and so does SHA-256; two at once on
the helper thread and the caller's take about half the time on two cores (a 1080p temporal frame:
the detail blurs 44 -> 24 ms, the checks of a pair of flows 41 -> 27 ms, a frame's hash 27 ->
14 ms). Each call's bits are its own, whichever thread makes it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["baseline_opencv", "side_by_side"]

_T = TypeVar("_T")

# The process-wide half of the switch: one block at a time.
_SWITCH = threading.Lock()
# Whether this thread is inside a block (the helper follows its caller).
_state = threading.local()
_helper: tuple[int, ThreadPoolExecutor] | None = None
_helper_lock = threading.Lock()


@contextlib.contextmanager
def baseline_opencv() -> Iterator[None]:
    """OpenCV's unoptimised code inside the block, for this thread and for the work it hands to
    :func:`side_by_side`; one block at a time in the process."""
    import cv2  # not at module level: the frame cache's hash needs no OpenCV

    with _SWITCH:
        optimised = cv2.useOptimized()
        cv2.setUseOptimized(False)
        _state.baseline = True
        try:
            yield
        finally:
            _state.baseline = False
            cv2.setUseOptimized(optimised)


def side_by_side(
    fn: Callable[..., _T], first: tuple[object, ...], second: tuple[object, ...]
) -> tuple[_T, _T]:
    """``(fn(*first), fn(*second))``, the first made on a helper thread while this one makes the
    second. Inside a :func:`baseline_opencv` block the helper runs OpenCV's baseline code as
    well. ``fn`` must not call :func:`side_by_side` (the helper is one thread). An exception of
    either call is raised once both have finished."""
    baseline = getattr(_state, "baseline", False)

    def helped() -> _T:
        if baseline:
            import cv2

            # This thread's IPP off. The process-wide half is off already, held by the caller's
            # block; the helper never switches it back on, which could reach into another
            # thread's block (its own IPP staying off only costs it speed).
            cv2.setUseOptimized(False)
        return fn(*first)

    future = _executor().submit(helped)
    try:
        mine = fn(*second)
    finally:
        theirs = future.result()  # waits even when ours failed: nothing runs on behind us
    return theirs, mine


def _executor() -> ThreadPoolExecutor:
    """The process's helper thread, made on first use (a forked child makes its own: the
    parent's thread does not exist there)."""
    global _helper  # noqa: PLW0603  # one per process, made when first needed
    with _helper_lock:
        if _helper is None or _helper[0] != os.getpid():
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="neuralstyle-helper")
            _helper = (os.getpid(), pool)
        return _helper[1]
