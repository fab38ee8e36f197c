"""NaN-poisoned kernel outputs: a test hook, off unless a test enters :func:`poisoned_outputs`.

Only the allocators of ``neuralstyle.ops._cuda`` ask :func:`active`. While it answers True they
fill every kernel output and workspace with NaN before the launch, so an element a kernel forgets
to write shows up as NaN instead of as whatever the allocator happened to hand back.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

__all__ = ["active", "poisoned_outputs"]

# Per thread, so a test's poisoning never leaks into work on other threads.
_poison = threading.local()


@contextlib.contextmanager
def poisoned_outputs() -> Iterator[None]:
    """Tests: fill every kernel output and workspace with NaN before the launch (this thread)."""
    _poison.on = True
    try:
        yield
    finally:
        _poison.on = False


def active() -> bool:
    """Whether this thread is inside :func:`poisoned_outputs`."""
    return bool(getattr(_poison, "on", False))
