"""Temporal stability for shots: optical flow between source frames and warping by it.

- :mod:`neuralstyle.temporal.flow`: ``flow_between``, DIS optical flow with a forward-backward
  confidence mask, bit-identical on every machine (the farm renders any frame in any chunk).
- :mod:`neuralstyle.temporal.warp`: ``warp`` (backward, bilinear, torch on any device) and
  ``inside``.

This file imports nothing: OpenCV loads with ``temporal.flow`` only, never when ``neuralstyle`` or
``temporal.warp`` is imported.
"""
