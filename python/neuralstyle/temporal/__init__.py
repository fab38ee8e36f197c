"""Temporal stability for shots: optical flow between source frames and warping by it.

- :mod:`neuralstyle.temporal.flow`: ``flow_between``, DIS optical flow with a forward-backward
  confidence mask, bit-identical on every machine (the farm renders any frame in any chunk).
- :mod:`neuralstyle.temporal.warp`: ``warp`` (backward, bilinear, torch on any device) and
  ``inside``.

This file imports nothing: OpenCV loads with ``temporal.flow`` only, never when ``neuralstyle`` or
``temporal.warp`` is imported.
"""

#: Optimisation warm starts run in segments of this many frames, aligned to absolute frame
#: numbers (frame // WARM_SEGMENT): a segment's first frame starts from its content, each other
#: from the frame before it moved onto it (:mod:`neuralstyle.temporal.window`). A frame rendered
#: alone therefore optimises at most WARM_SEGMENT - 1 frames before its window besides it; the
#: plugin's generated header carries the same number (params/plugin_header.py).
WARM_SEGMENT = 4


def starts_segment(frame: int, previous: int | None) -> bool:
    """Whether ``frame`` starts a warm-start segment: the shot's first frame (``previous`` is
    None), or the first of the shot's frames with its ``frame // WARM_SEGMENT``."""
    return previous is None or previous // WARM_SEGMENT != frame // WARM_SEGMENT
