"""Image sequence names: ``plate.####.exr``, ``plate.%04d.exr``, ``plate.@@@@.exr``.

Nuke and Natron rules: each ``#`` or ``@`` is one digit of padding (fileseq's ``PAD_STYLE_HASH1``;
its default reads ``#`` as four digits), ``%0Nd`` pads to N digits and ``%d`` not at all. Frames
with more digits than the padding are written in full; as in printf, a minus sign counts
towards the width (``-003`` for ``####``). A
name without a frame token is one still image, used for every frame.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from neuralstyle.errors import InputError

__all__ = ["Sequence"]

_TOKEN = re.compile(r"%(0?\d*)d|#+|@+")


@dataclass(frozen=True)
class Sequence:
    """A frame-numbered file name: ``head``, the frame padded to ``padding`` digits, ``tail``.

    Build it with :meth:`parse`. ``padding`` is None for a still image (no frame token).
    """

    pattern: str
    head: str
    tail: str
    padding: int | None

    @classmethod
    def parse(cls, pattern: str | os.PathLike[str]) -> Sequence:
        """Read the frame token of ``pattern`` (only in the file name, never in folders).

        Raises:
            InputError: more than one frame token in the file name, or a token in a folder name.
        """
        text = os.fspath(pattern)
        folder, name = os.path.split(text)
        tokens = list(_TOKEN.finditer(name))
        if len(tokens) > 1:
            raise InputError(
                f"{text!r} has {len(tokens)} frame tokens; expected one (####, %04d or @)"
            )
        if _TOKEN.search(folder) and not tokens:
            raise InputError(f"{text!r}: the frame token must be in the file name, not a folder")
        if not tokens:
            return cls(text, text, "", None)
        token = tokens[0]
        if token.group(0).startswith("%"):
            width = token.group(1)
            padding = int(width) if width else 1
        else:
            padding = len(token.group(0))
        head = os.path.join(folder, name[: token.start()]) if folder else name[: token.start()]
        return cls(text, head, name[token.end() :], padding)

    @property
    def is_still(self) -> bool:
        """True for a name without a frame token (one file for every frame)."""
        return self.padding is None

    def path(self, frame: int) -> Path:
        """The file of ``frame``."""
        if self.padding is None:
            return Path(self.pattern)
        # printf semantics (what Nuke and Natron write): the sign counts towards the width.
        return Path(f"{self.head}{frame:0{self.padding}d}{self.tail}")

    def frames_on_disk(self) -> list[int]:
        """The frames whose files exist, ascending (a still image has none).

        Files whose number is padded differently (``plate.1.exr`` for ``####``) do not count.
        """
        if self.padding is None:
            return []
        folder, head = os.path.split(self.head)
        regex = re.compile(re.escape(head) + r"(-?\d+)" + re.escape(self.tail) + r"\Z")
        try:
            names = os.listdir(folder or ".")
        except OSError:
            return []
        frames = []
        for name in names:
            match = regex.match(name)
            if match and self.path(int(match.group(1))).name == name:
                frames.append(int(match.group(1)))
        return sorted(frames)
