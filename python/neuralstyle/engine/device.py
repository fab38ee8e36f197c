"""Which torch device a render runs on, and how device failures reach the user."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from neuralstyle.errors import DeviceError, NeuralStyleError, OutOfMemoryError

__all__ = ["device_errors", "resolve_device"]


def resolve_device(name: str) -> torch.device:
    """``"auto"``: CUDA when a CUDA device is available, else the CPU; ``"cpu"``; ``"cuda"``.

    The farm picks GPUs with ``CUDA_VISIBLE_DEVICES``; ``"cuda"`` is the first one it left visible.

    Raises:
        DeviceError: ``"cuda"`` was asked for and no CUDA device is available.
    """
    if name == "cpu":
        return torch.device("cpu")
    available = torch.cuda.is_available()
    if name == "cuda" and not available:
        raise DeviceError("CUDA requested but no CUDA device is available")
    return torch.device("cuda" if available else "cpu")


# What allocators say when they give up; torch reports CPU exhaustion as a plain RuntimeError.
_OOM_MESSAGES = ("out of memory", "can't allocate memory", "cannot allocate memory")


@contextlib.contextmanager
def device_errors(device: torch.device) -> Iterator[None]:
    """Turn running out of memory into :class:`OutOfMemoryError` (a :class:`DeviceError`, retryable
    on another node) that names ``device`` and carries its type."""
    try:
        yield
    except NeuralStyleError:
        raise
    except (torch.OutOfMemoryError, MemoryError) as exc:
        raise _out_of_memory(device, exc) from exc
    except RuntimeError as exc:
        if any(m in str(exc).lower() for m in _OOM_MESSAGES):
            raise _out_of_memory(device, exc) from exc
        raise


def _out_of_memory(device: torch.device, exc: BaseException) -> OutOfMemoryError:
    return OutOfMemoryError(f"out of memory on {device}: {_first_line(exc)}", device.type)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
