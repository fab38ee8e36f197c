"""Frame ranges in the syntax compositors and farm managers write, and chunks of them.

Accepted (Nuke and Natron): ``1001``, ``1001-1100``, ``1-10x2`` (every 2nd), ``1-10:2`` (Natron's
step), ``10-1`` (backwards, rendered in that order), ``1,5,10-20`` (lists), negative frames
(``-5--1``) and spaces after commas. A frame listed twice is rendered once, at its first place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from neuralstyle.errors import InputError

__all__ = ["MAX_FRAMES", "chunk", "format_frames", "parse_frames", "restrict"]

#: A range this long is a typo (a missing comma), not a shot; refusing it avoids a huge list.
MAX_FRAMES = 1_000_000

_PART = re.compile(r"^(-?\d+)(?:-(-?\d+)(?:[x:](\d+))?)?$")


def parse_frames(text: str) -> list[int]:
    """The frames ``text`` names, in order, without duplicates.

    Raises:
        InputError: the text is empty or not a frame range; the message quotes the bad part.

    Examples:
        >>> parse_frames("1-10x3, 20")
        [1, 4, 7, 10, 20]
        >>> parse_frames("3-1")
        [3, 2, 1]
    """
    if not isinstance(text, str) or not text.strip():
        raise InputError("expected a frame range such as 1001-1100, 1-10x2 or 1,5,10-20; got ''")
    frames: dict[int, None] = {}  # an ordered set
    for raw in text.split(","):
        part = raw.strip()
        match = _PART.match(part)
        if match is None:
            raise InputError(
                f"bad frame range {text!r}: cannot read {part!r} "
                "(expected N, A-B, A-BxS or a comma-separated list of those)"
            )
        first, last, step = match.groups()
        start = int(first)
        end = start if last is None else int(last)
        stride = 1 if step is None else int(step)
        if stride == 0:
            raise InputError(f"bad frame range {text!r}: the step in {part!r} must be at least 1")
        if abs(end - start) // stride + 1 + len(frames) > MAX_FRAMES:
            raise InputError(f"frame range {text!r} has more than {MAX_FRAMES} frames")
        direction = 1 if end >= start else -1
        for frame in range(start, end + direction, stride * direction):
            frames.setdefault(frame, None)
    return list(frames)


def restrict(frames: Sequence[int], subset: Sequence[int], what: str = "--chunk") -> list[int]:
    """The frames of ``frames`` that ``subset`` names, in ``frames`` order (a farm task's part of
    the shot). Frames of ``subset`` outside the shot are ignored, so a manager's ``START-END``
    works on a stepped shot (``1-7`` of ``1-12x2`` is 1, 3, 5, 7).

    Raises:
        InputError: ``subset`` names no frame of ``frames``.
    """
    wanted = set(subset)
    chosen = [f for f in frames if f in wanted]
    if not chosen:
        raise InputError(
            f"{what} {format_frames(subset)} names no frame of the frame range "
            f"{format_frames(frames)}"
        )
    return chosen


def chunk(frames: Sequence[int], size: int) -> list[list[int]]:
    """``frames`` cut into consecutive pieces of ``size`` frames (the last may be shorter).

    Raises:
        InputError: ``size`` is below 1.
    """
    if size < 1:
        raise InputError(f"the chunk size must be at least 1, got {size}")
    return [list(frames[i : i + size]) for i in range(0, len(frames), size)]


def format_frames(frames: Iterable[int]) -> str:
    """The shortest range text for ``frames`` in their order: ``1-4,7,9-13x2``.

    :func:`parse_frames` of the result gives ``frames`` back (for lists without duplicates).
    """
    items = list(frames)
    parts: list[str] = []
    i = 0
    while i < len(items):
        j = i + 1
        step = items[j] - items[i] if j < len(items) else 0
        if step > 0:
            while j + 1 < len(items) and items[j + 1] - items[j] == step:
                j += 1
        if step <= 0 or (j - i < 2 and step != 1):
            parts.append(str(items[i]))
            i += 1
            continue
        text = f"{items[i]}-{items[j]}"
        parts.append(text if step == 1 else f"{text}x{step}")
        i = j + 1
    return ",".join(parts)
