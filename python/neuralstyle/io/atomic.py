"""Atomic, recoverable file writes: a file appears complete under its name or not at all.

A writer fills ``.<name>.<host>-<pid>.tmp<ext>`` in the target's folder (same file system, so the
rename is atomic; same extension, so format libraries recognise it), flushes it to disk and renames
it over the target (:func:`atomic_target`). A process killed in between leaves only its temporary
file, which the name ties to a host and process: :func:`remove_stale_temps` deletes those of dead
processes. One process writes a given target from one thread at a time (the name has no thread).
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from neuralstyle.errors import ImageIOError

__all__ = ["atomic_target", "remove_stale_temps", "temp_path"]


def temp_path(target: Path) -> Path:
    """Where :func:`atomic_target` writes ``target`` before renaming it."""
    return target.with_name(f".{target.name}.{_host()}-{os.getpid()}.tmp{target.suffix}")


@contextlib.contextmanager
def atomic_target(
    target: Path, *, before_rename: Callable[[Path], object] | None = None
) -> Iterator[Path]:
    """The temporary path to write ``target`` to; on leaving the block without an exception it is
    fsynced and renamed over ``target``. On any failure the temporary file is removed and
    ``target`` (a previous version, or nothing) is left as it was.

    Args:
        target: the final file; its folder must exist.
        before_rename: called with the temporary path once it is complete on disk (a test hook:
            what a crash before the rename leaves).

    Raises:
        ImageIOError: ``"cannot write <target>: <reason>"`` for an OSError inside the block, in the
            flush or in the rename (disk full, permission denied).
    """
    tmp = temp_path(target)
    try:
        yield tmp
        _fsync(tmp)
        if before_rename is not None:
            before_rename(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise ImageIOError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def remove_stale_temps(targets: Iterable[Path]) -> list[Path]:
    """Delete temporary files of ``targets`` left by dead processes of this host; return them.

    A process killed between writing and renaming leaves its temporary file; the final name is
    never touched, so no reader sees a partial frame. Temporary files of live processes and of
    other hosts are left alone.
    """
    removed: list[Path] = []
    host = _host()
    by_folder: dict[Path, list[Path]] = {}
    for target in targets:
        by_folder.setdefault(target.parent, []).append(target)
    for folder, items in by_folder.items():
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        wanted = {f".{t.name}.": t for t in items}
        for name in names:
            if not name.startswith(".") or ".tmp" not in name:
                continue
            match = re.match(r"^(\..+\.)" + re.escape(host) + r"-(\d+)\.tmp", name)
            if match is None or match.group(1) not in wanted or _alive(int(match.group(2))):
                continue
            with contextlib.suppress(OSError):
                (folder / name).unlink()
                removed.append(folder / name)
    return removed


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname().split(".")[0]) or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (dead, not yet reaped: its parent was killed first) still answers kill(pid, 0).
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
