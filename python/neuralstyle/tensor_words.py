"""How input guards name a value they refused, alike in ops, losses and controls: what came, in
one wording. The lowest layer: imports torch only."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["describe", "dtype_name"]


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float16`` -> ``"float16"``."""
    return str(dtype).removeprefix("torch.")


def describe(t: object) -> str:
    """What a guard reports of a value it refused: ``shape (1, 3, 8, 8) float16 on cpu`` for a
    tensor, the type's name for anything else."""
    if not isinstance(t, Tensor):
        return type(t).__name__
    return f"shape {tuple(t.shape)} {dtype_name(t.dtype)} on {t.device}"
