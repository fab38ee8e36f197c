"""Render-farm rendering: frame ranges, image sequences, keyframes, the per-frame render loop, the
``render`` command, and a Dask distributed back end.

Nothing in this package imports torch at import time: the GPU and thread environment has to be set
(:mod:`neuralstyle.farm.environment`) before torch loads in a render process.
"""
