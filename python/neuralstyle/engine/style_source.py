"""Where a request's style comes from: a built-in style by name or index, a painting as a file
or an array (:class:`StyleImage`), or a trained network's file (:class:`TrainedFile`), and how a
value given for ``style`` is told apart.

The built-in styles and the style-file reader load torch: they are imported on use, since the
request (and with it this module) is imported by the node's host module at load.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from neuralstyle.errors import InputError

if TYPE_CHECKING:
    from neuralstyle.models.styles import Style

__all__ = [
    "TRAINED_SUFFIX",
    "StyleImage",
    "TrainedFile",
    "builtin_style",
    "is_builtin_name",
    "is_trained_file",
    "looks_like_file",
    "style_image",
    "trained_file",
]

#: The suffix of a trained style (``neuralstyle train`` writes it; nothing else is read as one).
TRAINED_SUFFIX = ".safetensors"


def builtin_style(name: str, value: object) -> Style:
    """The built-in style ``value`` names, or InputError naming the parameter."""
    from neuralstyle.models.styles import Style, resolve_style

    if isinstance(value, bool) or not isinstance(value, (str, int, Style)):
        raise InputError(f"{name} must be a style name or index, got {value!r}")
    try:
        return resolve_style(value)
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None


@dataclass(frozen=True)
class StyleImage:
    """A painting used as a style: a file, or an array handed to the API.

    Equal images give equal requests (a file by path, size and modification time; an array by its
    bytes), so the node reloads a style file the artist has repainted, and only then.

    Attributes:
        key: what identifies the image.
        label: what messages and logs call it (the path, or ``"<array HxW>"``).
        array: for an array, its pixels as :meth:`pixels` gives them (converted once).
    """

    key: str
    label: str
    array: np.ndarray | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], name: str = "style") -> StyleImage:
        """A style file; its header is checked now, its pixels read by :meth:`pixels`.

        Raises:
            ImageIOError: missing or not an image.
            InputError: too small, too large or CMYK.
        """
        from neuralstyle.io.style_image import check_style_file

        file = Path(path).expanduser()
        if not file.is_file():
            check_style_file(file)  # raises the message for a missing file
        stat = file.stat()
        key = f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        _check_header(key, str(file))
        return cls(key=key, label=str(file))

    @classmethod
    def from_array(cls, array: np.ndarray, name: str = "style") -> StyleImage:
        """An image array (checked now; see :func:`neuralstyle.io.style_image.style_pixels`)."""
        from neuralstyle.io.style_image import style_pixels

        pixels = style_pixels(array, f"the {name} image")  # checks shape, type, size, values
        digest = hashlib.sha1(pixels.tobytes()).hexdigest()
        label = f"<array {array.shape[1]}x{array.shape[0]}>"
        return cls(key=f"array|{pixels.shape}|{digest}", label=label, array=pixels)

    def pixels(self) -> np.ndarray:
        """``(H, W, 3)`` float32 RGB in [0, 1], display-referred.

        Raises:
            ImageIOError, InputError: as :meth:`from_file` (the file may have changed since).
        """
        from neuralstyle.io.style_image import read_style_file

        if self.array is not None:
            return self.array
        return read_style_file(self.label)


@functools.lru_cache(maxsize=64)
def _check_header(key: str, path: str) -> None:
    """:func:`~neuralstyle.io.style_image.check_style_file`, once per version of a file: the node
    builds its request on every render and every identity query (a failed check is not cached)."""
    from neuralstyle.io.style_image import check_style_file

    check_style_file(path)


@dataclass(frozen=True)
class TrainedFile:
    """A style trained by ``neuralstyle train``: its file, identified by path, size and
    modification time (a retrained file renders anew), its header checked when named.

    Attributes:
        key: what identifies the file's version.
        label: the path, as messages and logs call it.
    """

    key: str
    label: str

    @property
    def path(self) -> Path:
        return Path(self.label)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> TrainedFile:
        """Raises ModelError: the file is missing, not safetensors or not a trained style."""
        from neuralstyle.errors import ModelError

        file = Path(path).expanduser()
        if not file.is_file():
            raise ModelError(f"trained style {file}: no such file")
        stat = file.stat()
        key = f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        _check_trained_header(key, str(file))
        return cls(key=key, label=str(file))


@functools.lru_cache(maxsize=64)
def _check_trained_header(key: str, path: str) -> None:
    from neuralstyle.models.trained_style import read_header

    read_header(Path(path))


def trained_file(name: str, value: object) -> TrainedFile:
    if isinstance(value, TrainedFile):
        return value
    if isinstance(value, (str, os.PathLike)) and value != "":
        return TrainedFile.from_file(value)
    raise InputError(
        f"{name}: method trained takes the .safetensors file `neuralstyle train` wrote, got "
        f"{value!r}"
    )


def is_trained_file(value: object) -> bool:
    """``value`` names a trained style's file (by its suffix)."""
    if isinstance(value, TrainedFile):
        return True
    return isinstance(value, (str, os.PathLike)) and Path(value).suffix.lower() == TRAINED_SUFFIX


def style_image(name: str, value: object) -> StyleImage:
    if isinstance(value, StyleImage):
        return value
    if isinstance(value, np.ndarray):
        return StyleImage.from_array(value, name)
    if isinstance(value, (str, os.PathLike)):
        return StyleImage.from_file(value, name)
    raise InputError(f"{name} must be an image file path or array, got {type(value).__name__}")


def is_builtin_name(value: object) -> bool:
    from neuralstyle.models.styles import Style, resolve_style

    if isinstance(value, Style) or (isinstance(value, int) and not isinstance(value, bool)):
        return True
    if not isinstance(value, str):
        return False
    try:
        resolve_style(value)
    except InputError:
        return False
    return True


def looks_like_file(value: object) -> bool:
    if isinstance(value, os.PathLike):
        return True
    return isinstance(value, str) and (
        os.sep in value or Path(value).suffix != "" or os.path.exists(value)
    )
