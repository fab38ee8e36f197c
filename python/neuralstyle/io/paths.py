"""Where outputs may go: never onto an input, into folders made on demand. Shared by
``neuralstyle stylize`` and ``neuralstyle render`` so both refuse and create alike.

Two paths are the same file when the file system says so (device and inode, symbolic links
followed), not when their text matches: a symlinked folder, a link to an input, ``./x.png``
against ``x.png`` and a hard link all count.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from neuralstyle.errors import ImageIOError, InputError

__all__ = ["check_no_overwrite", "folder_problem", "make_output_folders"]


def check_no_overwrite(outputs: Iterable[Path], inputs: Iterable[tuple[str, Path]]) -> None:
    """Refuse to write any of ``outputs`` when it is one of ``inputs``.

    Args:
        outputs: the files a command is about to write.
        inputs: ``(what, path)`` of every file it reads, ``what`` naming it in the message
            (``"the input"``, ``"the mask"``, ``"the style image"``...). Paths that do not
            exist are skipped: an output cannot overwrite them.

    Raises:
        InputError: ``the output X would overwrite the style image Y``.
    """
    read: dict[tuple[int, int], tuple[str, Path]] = {}
    for what, path in inputs:
        identity = _identity(path)
        if identity is not None:
            read.setdefault(identity, (what, path))
    for output in outputs:
        found = read.get(_identity(output) or (-1, -1))
        if found is not None:
            what, path = found
            raise InputError(f"the output {output} would overwrite {what} {path}")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except (OSError, ValueError):  # missing, a dangling link, an unusable name
        return None
    return status.st_dev, status.st_ino


def make_output_folders(folders: Iterable[Path]) -> None:
    """Create each folder (and its parents) unless it exists; check it is writable.

    Raises:
        ImageIOError: one line naming the folder (a file in the way, permission denied).
    """
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ImageIOError(
                f"cannot make the output folder {folder}: {exc.strerror or exc}"
            ) from exc
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ImageIOError(f"cannot write to the output folder {folder}: permission denied")


def folder_problem(target: Path) -> str | None:
    """Why no file can be written as ``target`` in its folder, or None when it can.

    Writers check this first: OpenImageIO would otherwise name the temporary file it failed to
    open, not the folder that is missing.
    """
    folder = target.parent
    if not folder.exists():
        return f"the folder {folder} does not exist"
    if not folder.is_dir():
        return f"{folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable"
    return None
