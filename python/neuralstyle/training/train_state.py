"""A training run's checkpoint: every tensor in ``checkpoint.safetensors``, everything else in
``checkpoint.json`` (settings, step, history, the optimisers' hyper-parameters).

Together they hold all a run's state (networks, Adam moments, the spectral norms' vectors, the
random generator), so a resumed run continues bit-identically. The JSON is written last and
records the tensors' hash: a checkpoint cut short between the two files is refused, not loaded
half. No pickle anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save
from torch import Tensor

from neuralstyle.cache import write_atomic
from neuralstyle.errors import InputError, ModelError
from neuralstyle.models.weights_cache import READ_ERRORS, tensors_digest

__all__ = [
    "CHECKPOINT_JSON",
    "CHECKPOINT_TENSORS",
    "optimizer_state",
    "read_checkpoint",
    "restore_optimizer",
    "write_checkpoint",
]

CHECKPOINT_TENSORS = "checkpoint.safetensors"
CHECKPOINT_JSON = "checkpoint.json"


def optimizer_state(
    prefix: str, optimizer: torch.optim.Optimizer
) -> tuple[dict[str, Tensor], list[dict[str, Any]]]:
    """An optimiser's state as flat tensors ``<prefix>.<param>.<name>`` and its param groups."""
    state = optimizer.state_dict()
    tensors = {
        f"{prefix}.{index}.{name}": value.detach().cpu().clone()
        for index, entries in state["state"].items()
        for name, value in entries.items()
    }
    groups = [{k: list(v) if isinstance(v, tuple) else v for k, v in g.items()}
              for g in state["param_groups"]]  # fmt: skip
    return tensors, groups


def restore_optimizer(
    optimizer: torch.optim.Optimizer,
    prefix: str,
    tensors: Mapping[str, Tensor],
    groups: list[dict[str, Any]],
) -> None:
    """Load what :func:`optimizer_state` gave back into ``optimizer``."""
    state: dict[int, dict[str, Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            index, name = key[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(index), {})[name] = value
    restored = [{k: tuple(v) if k == "betas" else v for k, v in g.items()} for g in groups]
    optimizer.load_state_dict({"state": state, "param_groups": restored})


def write_checkpoint(
    folder: Path, tensors: Mapping[str, Tensor], record: Mapping[str, Any]
) -> None:
    """Both files, each atomically: the tensors first, then the JSON that vouches for them."""
    data = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    folder.mkdir(parents=True, exist_ok=True)
    if not write_atomic(folder / CHECKPOINT_TENSORS, save(data)):
        raise InputError(f"cannot write a checkpoint into {folder}")
    full = {**record, "tensors_sha256": tensors_digest(data)}
    write_atomic(folder / CHECKPOINT_JSON, (json.dumps(full, indent=1) + "\n").encode())


def read_checkpoint(folder: Path) -> tuple[dict[str, Tensor], dict[str, Any]] | None:
    """The checkpoint in ``folder``, or None when there is none.

    Raises:
        ModelError: unreadable files, or tensors that are not the ones the JSON records.
    """
    record_path, tensors_path = folder / CHECKPOINT_JSON, folder / CHECKPOINT_TENSORS
    if not record_path.is_file():
        return None
    try:
        record = json.loads(record_path.read_text())
        tensors = load_file(str(tensors_path))
    except (*READ_ERRORS, json.JSONDecodeError) as exc:
        raise ModelError(f"checkpoint in {folder} is unreadable ({exc}); remove it") from None
    if record.get("tensors_sha256") != tensors_digest(tensors):
        raise ModelError(
            f"checkpoint in {folder}: its tensors are not the ones its JSON records (a write "
            "cut short?); remove the folder to start again"
        )
    return tensors, record
