"""Where converted weights are kept between processes.

Nothing here touches the disk at import; the folder is made by the first :func:`write_atomic`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

__all__ = ["cache_dir", "write_atomic"]

_log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """The cache folder: ``$NEURALSTYLE_CACHE``, else ``$XDG_CACHE_HOME/neuralstyle``, else
    ``~/.cache/neuralstyle``. It may not exist yet."""
    if explicit := os.environ.get("NEURALSTYLE_CACHE"):
        return Path(explicit).expanduser()
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return Path(xdg).expanduser() / "neuralstyle"
    return Path.home() / ".cache" / "neuralstyle"


def write_atomic(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``.

    Readers (other frames, other farm processes) see the old file or the whole new one, never a
    partial one. Returns False, with a warning logged, when the folder is not writable: callers
    keep their data in memory and carry on.
    """
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; a shared farm cache must be readable
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return True
    except OSError as exc:
        _log.warning("cannot write cache file %s (%s); keeping it in memory", path, exc)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return False
