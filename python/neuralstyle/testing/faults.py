"""Failure injection for farm tests: a documented test hook, off unless its variable is set.

Only the Dask task wrapper (:func:`neuralstyle.farm.dask_backend.run_chunk`) reads
``NEURALSTYLE_FARM_INJECT``; a plain ``neuralstyle render`` ignores it. The value is a
comma-separated list of ``KIND@FRAME`` or ``KIND@FRAMExN`` (only the first N attempts of that
frame fail):

- ``transient``: raise a retryable error (:class:`InjectedError`, exit status 75) before the frame;
- ``kill``: the frame's file is complete under its temporary name, then the Dask worker process is
  killed (SIGKILL) and the render process exits before renaming it: a crashed node mid-write;
- ``hang``: sleep forever before the frame (for the task timeout).

Attempts are counted in files under ``NEURALSTYLE_FARM_INJECT_STATE`` (a folder every worker can
write), so a retry on another worker sees the earlier attempts.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from neuralstyle.errors import DeviceError, InputError

__all__ = ["ENV", "ENV_STATE", "FaultPlan", "InjectedError"]

ENV = "NEURALSTYLE_FARM_INJECT"
ENV_STATE = "NEURALSTYLE_FARM_INJECT_STATE"
_KINDS = ("transient", "kill", "hang")
_ITEM = re.compile(r"^(transient|kill|hang)@(-?\d+)(?:x(\d+))?$")


class InjectedError(DeviceError):
    """A transient failure made by the test hook (retryable, like running out of memory)."""


@dataclass(frozen=True)
class Fault:
    kind: str
    frame: int
    times: int | None  # None: every attempt


@dataclass(frozen=True)
class FaultPlan:
    """The faults to inject; picklable, so the task wrapper hands it to the render process."""

    faults: tuple[Fault, ...]
    state: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FaultPlan | None:
        """The plan in ``NEURALSTYLE_FARM_INJECT``, or None when unset (the normal case).

        Raises:
            InputError: a malformed value.
        """
        source = os.environ if env is None else env
        text = source.get(ENV, "").strip()
        if not text:
            return None
        faults = []
        for item in text.split(","):
            match = _ITEM.match(item.strip())
            if match is None:
                raise InputError(
                    f"{ENV}: cannot read {item.strip()!r}; expected KIND@FRAME[xN] with KIND one "
                    f"of {', '.join(_KINDS)}"
                )
            kind, frame, times = match.groups()
            faults.append(Fault(kind, int(frame), None if times is None else int(times)))
        state = source.get(ENV_STATE, "")
        if not state:
            raise InputError(f"{ENV} needs {ENV_STATE}: a folder to count attempts in")
        return cls(tuple(faults), state)

    def _due(self, kind: str, frame: int) -> bool:
        """Whether a ``kind`` fault fires at this attempt of ``frame`` (and count the attempt)."""
        for fault in self.faults:
            if fault.kind != kind or fault.frame != frame:
                continue
            counter = Path(self.state) / f"{kind}-{frame}"
            attempts = len(counter.read_text()) if counter.exists() else 0
            with counter.open("a") as f:  # one character per attempt
                f.write(".")
            return fault.times is None or attempts < fault.times
        return False

    def before_frame(self, frame: int) -> None:
        if self._due("transient", frame):
            raise InjectedError(f"injected transient failure at frame {frame} ({ENV})")
        if self._due("hang", frame):
            while True:  # until the task timeout kills this process
                time.sleep(3600)

    def before_rename(self, frame: int, tmp: Path) -> None:
        del tmp  # complete on disk under its temporary name: exactly what a crash leaves
        if self._due("kill", frame):
            os.kill(os.getppid(), signal.SIGKILL)
            os._exit(137)
