"""Where and how a farm frame ran: the device and its numerics, the time per stage, peak memory.

:func:`describe_device` gives the device for the log line and the header every output carries;
:class:`FrameMeter` times one frame's stages and reads its peak memory for the log line.
"""

from __future__ import annotations

import os
import resource
import time
from typing import Any

from neuralstyle import __version__

__all__ = ["FrameMeter", "describe_device"]


def describe_device(name: str, profile: str) -> tuple[str, dict[str, Any]]:
    """The device in words for the log (``cuda:N`` or ``cpu``), and the numerics header every
    output gets. ``name`` is the job's device, ``profile`` the determinism profile in force."""
    # Not at module level: torch (about 1 s, -X importtime) reads the GPU and thread variables
    # when it loads, so it waits for environment.prepare() (the package docstring says why).
    import torch

    from neuralstyle.engine.device import resolve_device

    device = resolve_device(name)
    if device.type == "cuda":
        index = torch.cuda.current_device()
        label = f"cuda:{index}"
        hardware = torch.cuda.get_device_name(index)
    else:
        label = "cpu"
        hardware = torch.backends.cpu.get_cpu_capability()
    header = {
        "neuralstyle:version": __version__,
        "neuralstyle:profile": profile,
        "neuralstyle:device": f"{label} {hardware}",
        "neuralstyle:threads": torch.get_num_threads(),
        "neuralstyle:torch": torch.__version__,
        "neuralstyle:cuda": torch.version.cuda or "none",
        "neuralstyle:cudnn": str(torch.backends.cudnn.version() or "none"),
        "neuralstyle:mkldnn": 1 if torch.backends.mkldnn.enabled else 0,
        "neuralstyle:visible_gpus": os.environ.get("CUDA_VISIBLE_DEVICES", "unset"),
    }
    return label, header


class FrameMeter:
    """Times one frame's stages and tracks its peak memory, from construction on.

    Args:
        device: the label :func:`describe_device` gave; on ``cuda`` the GPU's peak statistics
            restart here, so :meth:`peak_mb` is this frame's.
    """

    def __init__(self, device: str) -> None:
        self.device = device
        self._reset_peak()
        self.start = self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        """Record the seconds since the last lap (or the start) as stage ``name``."""
        now = time.perf_counter()
        self.laps[name] = now - self.last
        self.last = now

    def total(self) -> float:
        """Seconds since the start."""
        return time.perf_counter() - self.start

    def peak_mb(self) -> float:
        """Peak memory in MiB: the GPU's since the start on ``cuda``, else the process's."""
        import torch  # see describe_device

        if self.device.startswith("cuda"):
            return float(torch.cuda.max_memory_allocated()) / 2**20
        # The process high-water mark (ru_maxrss is in KiB on Linux): on CPU, frames share it.
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    def _reset_peak(self) -> None:
        import torch  # see describe_device

        if self.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
