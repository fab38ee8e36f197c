"""OpenCV's baseline code on the helper thread as on the caller's (temporal/baseline_cv.py)."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from neuralstyle.temporal.baseline_cv import baseline_opencv, side_by_side
from neuralstyle.temporal.flow import _dis


def _frames() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    a = cv2.GaussianBlur((rng.random((270, 480)) * 255).astype(np.uint8), (0, 0), 2)
    return a, np.roll(a, (1, 2), axis=(0, 1))


def test_the_helper_computes_the_bits_of_the_callers_block() -> None:
    a, b = _frames()
    with baseline_opencv():
        alone = _dis(a, b, "medium")
        theirs, mine = side_by_side(_dis, (a, b, "medium"), (a, b, "medium"))
    # A thread that had not switched itself would run Intel IPP (other bits): the helper's flow
    # is the caller's, to the bit, and so is the one made after it.
    assert np.array_equal(theirs, alone) and np.array_equal(mine, alone)
    with baseline_opencv():
        assert np.array_equal(side_by_side(_dis, (a, b, "medium"), (b, a, "medium"))[0], alone)
    assert cv2.useOptimized()  # switched back after the block


def test_side_by_side_keeps_each_calls_order_and_thread() -> None:
    names = side_by_side(lambda tag: (tag, threading.current_thread().name), ("a",), ("b",))
    assert names[0][0] == "a" and names[0][1].startswith("neuralstyle-helper")
    assert names[1] == ("b", threading.current_thread().name)


def test_a_failure_is_raised_after_both_calls_finish() -> None:
    done = threading.Event()

    def work(fail: bool) -> int:
        if fail:
            raise ValueError("bad frame")
        done.wait(0.2)  # the caller's failure comes first
        done.set()
        return 1

    with pytest.raises(ValueError, match="bad frame"):
        side_by_side(work, (False,), (True,))
    assert done.is_set()  # the helper's call had finished when the error came out
