"""One loaded network per device for the whole process (a render farm process loads it once)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

import torch

__all__ = ["PerDevice"]

T = TypeVar("T")


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
