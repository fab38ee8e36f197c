"""One loaded network per device for the whole process (a render farm process loads it once)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Generic, TypeVar

import torch

from neuralstyle.errors import DeviceError, OutOfMemoryError

__all__ = ["PerDevice", "check_fits", "free_memory", "out_of_memory", "usable_device"]

T = TypeVar("T")


def usable_device(device: torch.device | str) -> torch.device:
    """``device`` as a torch.device, or DeviceError for a CUDA device on a machine without CUDA
    (what every method's network checks before it loads)."""
    out = torch.device(device)
    if out.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"device {out} requested but CUDA is not available here")
    return out


def free_memory(device: torch.device) -> int | None:
    """Bytes a frame may still take on ``device``: the free CUDA memory, or on the CPU the
    kernel's ``MemAvailable`` (Linux); None where it cannot be known."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_fits(device: torch.device, need: int, what: str, hint: str) -> None:
    """Refuse, before any tensor is made, work whose estimated peak ``need`` (bytes) exceeds
    :func:`free_memory`. On the CPU this matters most: a process that runs past the machine's
    memory is not given an error but killed by the kernel, and a host would die with it.

    Raises:
        OutOfMemoryError: ``what`` needs about N GiB, M GiB free on the device; then ``hint``.
    """
    free = free_memory(device)
    if free is not None and need > free:
        raise OutOfMemoryError(
            f"{what} needs about {need / 2**30:.1f} GiB, {free / 2**30:.1f} GiB free on "
            f"{device}: {hint}",
            device.type,
        )


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
