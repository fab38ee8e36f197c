"""One loaded network per device for the whole process (a render farm process loads it once)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

import torch

from neuralstyle.errors import DeviceError, OutOfMemoryError

__all__ = ["PerDevice", "out_of_memory", "usable_device"]

T = TypeVar("T")


def usable_device(device: torch.device | str) -> torch.device:
    """``device`` as a torch.device, or DeviceError for a CUDA device on a machine without CUDA
    (what every method's network checks before it loads)."""
    out = torch.device(device)
    if out.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"device {out} requested but CUDA is not available here")
    return out


@contextlib.contextmanager
def out_of_memory(device: torch.device, frame: torch.Tensor) -> Iterator[None]:
    """Inside the block, torch running out of memory on ``device`` is an
    :class:`~neuralstyle.errors.OutOfMemoryError` naming the frame's shape (what the feed-forward
    networks raise; the engine and the node answer it as a device error)."""
    try:
        yield
    except torch.OutOfMemoryError as exc:
        shape = "x".join(map(str, frame.shape))
        raise OutOfMemoryError(
            f"out of memory on {device} stylising a {shape} frame", device.type
        ) from exc


class PerDevice(Generic[T]):
    """``factory(device)`` built on first use per device, thread-safe; ``"cuda"`` and
    ``"cuda:N"`` of the current device share one entry."""

    def __init__(self, factory: Callable[[torch.device], T]) -> None:
        self._factory = factory
        self._items: dict[torch.device, T] = {}
        self._lock = threading.Lock()

    def get(self, device: torch.device | str) -> T:
        key = torch.device(device)
        if key.type == "cuda" and key.index is None and torch.cuda.is_available():
            key = torch.device("cuda", torch.cuda.current_device())
        with self._lock:
            if key not in self._items:
                self._items[key] = self._factory(key)
            return self._items[key]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
