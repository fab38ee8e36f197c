"""Stylised frames and flows of a shot, kept between renders: the window of frame t+1 shares all
but one frame with frame t's, so a sequential render stylises each frame once.

Entries are keyed by content, never by frame number: a stylisation by the hash of its source
pixels, its mask and every parameter that reaches the engine (:func:`content_key`); a flow by the
hashes of its two source plates. A changed plate upstream, a new key on strength or another style
is therefore a miss, never a stale frame: the cache cannot change a pixel, only skip work.

One cache per process, shared by the node's instances, the API and the farm's renderer, bounded
in bytes (least recently used out first) by ``$NEURALSTYLE_FRAME_CACHE_MB`` (default
:data:`DEFAULT_MB`). A K=2 window at 1080p in float RGBA takes about 0.6 GB (five frames of
33 MB, their flow pictures, and the flows of the pairs its frames share with their neighbours,
50 MB a pair), at 4K about 2.5 GB: the default holds that. A window larger than the budget
still renders the same bits, stylising frames again.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import TypeVar

import numpy as np

from neuralstyle.errors import InputError
from neuralstyle.temporal.baseline_cv import side_by_side

__all__ = ["DEFAULT_MB", "FrameCache", "content_key", "frame_cache"]

#: The default budget in MiB (``$NEURALSTYLE_FRAME_CACHE_MB`` overrides; 0 turns caching off).
DEFAULT_MB = 4096

#: Arrays from this size are hashed in two halves at once (a thread costs more below it).
_SPLIT_BYTES = 1 << 20

_T = TypeVar("_T")


def content_key(*arrays: np.ndarray | None, settings: Mapping[str, object] | None = None) -> bytes:
    """A digest of ``arrays`` (shape, dtype and every value; ``None`` counts as absent) and of
    ``settings`` (JSON-able values). SHA-256, of a large array's two halves side by side: 14 ms
    for a 1080p float RGBA frame here (27 ms on one core)."""
    digest = hashlib.sha256()
    for array in arrays:
        if array is None:
            digest.update(b"none;")
            continue
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        data = np.ascontiguousarray(array).data.cast("B")
        if len(data) < _SPLIT_BYTES:
            digest.update(data)
        else:
            half = len(data) // 2
            digest.update(b"".join(side_by_side(_sha256, (data[:half],), (data[half:],))))
    if settings is not None:
        digest.update(json.dumps(settings, sort_keys=True, default=repr).encode())
    return digest.digest()


def _sha256(data: memoryview) -> bytes:
    return hashlib.sha256(data).digest()


def _nbytes(value: object) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    return sum(_nbytes(v) for v in getattr(value, "__dict__", {}).values())  # a dataclass


class FrameCache:
    """A least-recently-used map from content keys to arrays (or tuples and dataclasses of
    arrays), at most ``max_bytes`` of them. Thread-safe; values must not be modified."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_make(self, key: Hashable, make: Callable[[], _T]) -> _T:
        """The value kept under ``key``, else ``make()`` (kept when it fits)."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key][0]  # type: ignore[return-value]
            self.misses += 1
        value = make()  # outside the lock: a stylisation takes seconds
        size = _nbytes(value)
        with self._lock:
            if size <= self.max_bytes and key not in self._entries:
                self._entries[key] = (value, size)
                self._bytes += size
                while self._bytes > self.max_bytes:
                    _, (_, dropped) = self._entries.popitem(last=False)
                    self._bytes -= dropped
        return value

    def count(self, kind: str) -> int:
        """How many entries are kept under keys ``(kind, ...)``."""
        with self._lock:
            return sum(1 for k in self._entries if isinstance(k, tuple) and k[:1] == (kind,))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @property
    def nbytes(self) -> int:
        return self._bytes


_cache: FrameCache | None = None
_cache_lock = threading.Lock()


def frame_cache() -> FrameCache:
    """The process's cache, sized by ``$NEURALSTYLE_FRAME_CACHE_MB`` when first asked for.

    Raises:
        InputError: the variable is not a whole number of MiB >= 0.
    """
    global _cache  # noqa: PLW0603  # one per process, made on first use (no import-time work)
    with _cache_lock:
        if _cache is None:
            text = os.environ.get("NEURALSTYLE_FRAME_CACHE_MB", str(DEFAULT_MB))
            try:
                mb = int(text)
            except ValueError:
                mb = -1
            if mb < 0:
                raise InputError(
                    f"NEURALSTYLE_FRAME_CACHE_MB must be a whole number of MiB (0: no cache), "
                    f"got {text!r}"
                )
            _cache = FrameCache(mb * 1024 * 1024)
        return _cache


def clear() -> None:
    """Empty the process's cache (``purge_caches``); its budget is read again on next use."""
    global _cache  # noqa: PLW0603  # see frame_cache()
    with _cache_lock:
        if _cache is not None:
            _cache.clear()
        _cache = None
