"""The per-frame log of a render: one parseable line per frame, and a progress bar on a terminal.

Text lines are ``neuralstyle: time=2026-11-22T03:12:15.123Z frame=1001 status=done seconds=0.52 ...
out=/path`` (``key=value``,
values without spaces); ``--log-format json`` writes one JSON object per line instead. Lines go to
stderr, as all of the CLI's messages do; the bar (tqdm) only appears when stderr is a terminal.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Mapping
from typing import IO, Any

__all__ = ["FrameLog", "format_line", "timestamp"]

PREFIX = "neuralstyle:"


def format_line(fields: Mapping[str, object], fmt: str = "text") -> str:
    """One log line for ``fields``."""
    if fmt == "json":
        return json.dumps(dict(fields), sort_keys=False, default=str)
    return PREFIX + " " + " ".join(f"{k}={_text(v)}" for k, v in fields.items())


def timestamp(seconds: float | None = None) -> str:
    """UTC ISO 8601 with milliseconds (default: now): ``2026-11-22T03:12:15.123Z``."""
    stamp = dt.datetime.fromtimestamp(time.time() if seconds is None else seconds, dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _text(value: object) -> str:
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    return text.replace(" ", "_") if text else '""'


class FrameLog:
    """Writes frame lines and drives the progress bar.

    Args:
        total: frames expected (for the bar).
        fmt: ``text`` or ``json``.
        stream: where lines go (default stderr).
    """

    def __init__(self, total: int, fmt: str = "text", stream: IO[str] | None = None) -> None:
        from tqdm import tqdm

        self.fmt = fmt
        self.stream = stream or sys.stderr
        # disable=None: no bar unless the stream is a terminal (farm logs stay clean).
        self._bar: Any = tqdm(total=total, unit="frame", disable=None, file=self.stream)

    def frame(self, fields: Mapping[str, object]) -> None:
        self.line(fields)
        self._bar.update(1)

    def failed(self, frame: int, error: BaseException) -> None:
        """The line of a frame that was not written: ``status=failed error=<exception class>``."""
        self.frame(
            {"time": timestamp(), "frame": frame, "status": "failed", "error": type(error).__name__}
        )

    def line(self, fields: Mapping[str, object]) -> None:
        text = format_line(fields, self.fmt)
        if self._bar.disable:
            print(text, file=self.stream, flush=True)
        else:
            self._bar.write(text, file=self.stream)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> FrameLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
