"""The render trace: a test hook, off unless ``NEURALSTYLE_TRACE`` is set.

Only :func:`neuralstyle.host.render` calls :func:`record`. With ``NEURALSTYLE_TRACE`` set to a
file, every render appends one JSON line (keys ``instance``, ``time``, ``frame_size``, and for
``src`` and ``dst`` each ``<role>_ptr``, ``<role>_strides``, ``<role>_owns_data``), so tests can
prove the engine read and wrote the host's memory without a copy.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

__all__ = ["ENV_TRACE", "record"]

ENV_TRACE = "NEURALSTYLE_TRACE"

# Instances render concurrently from host threads; one line per render, never interleaved.
_trace_lock = threading.Lock()


def record(instance: int, time: float, src: Any, dst: Any, frame_size: object) -> None:
    """Append the render's line to the ``NEURALSTYLE_TRACE`` file; nothing when it is unset.

    Args:
        src, dst: the host's buffers as they arrived (numpy arrays, or objects exposing
            ``__cuda_array_interface__``).
    """
    path = os.environ.get(ENV_TRACE)
    if not path:
        return
    line: dict[str, object] = {"instance": instance, "time": time, "frame_size": frame_size}
    for role, raw in (("src", src), ("dst", dst)):
        ptr, strides, owns = _memory(raw)
        line |= {f"{role}_ptr": ptr, f"{role}_strides": strides, f"{role}_owns_data": owns}
    with _trace_lock, open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


def _memory(raw: Any) -> tuple[int, list[int] | None, bool]:
    """Data pointer, strides in bytes and ownership of a buffer, as the trace records them."""
    if hasattr(raw, "__cuda_array_interface__"):
        interface = raw.__cuda_array_interface__
        strides = interface.get("strides")
        return int(interface["data"][0]), None if strides is None else list(strides), False
    return int(raw.__array_interface__["data"][0]), list(raw.strides), bool(raw.flags.owndata)
