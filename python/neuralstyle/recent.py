"""A process-wide cache of the few values used last: what the engine keeps between frames
(style images and statistics, trained networks), made outside the lock so a slow make (encoding a
style, compiling a network) does not hold up other threads' lookups."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["Recent"]

_V = TypeVar("_V")


class Recent(Generic[_V]):
    """At most ``size`` values, the least recently used dropped first. Thread-safe; two threads
    asking for a missing key at once may both make it (the later one is kept)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[Hashable, _V] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_make(self, key: Hashable, make: Callable[[], _V]) -> _V:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = make()
        with self._lock:
            self._values[key] = value
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
