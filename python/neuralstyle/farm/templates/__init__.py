"""Job descriptions for farm managers, all running one command:
``python -m neuralstyle.farm render IN -o OUT --frames SHOT --chunk START-END ...``.

- ``neuralstyle.openjd.yaml``: an Open Job Description template (:func:`openjd_template`);
- :mod:`.opencue`: an OpenCue job built with pyoutline;
- :mod:`.deadline`: a Deadline 10 command-line job (job and plugin info files).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

__all__ = ["openjd_template", "render_command"]


def openjd_template() -> Path:
    """The path of the shipped OpenJD job template."""
    return Path(str(resources.files(__name__).joinpath("neuralstyle.openjd.yaml")))


def render_command(
    python: str,
    input_pattern: str,
    output_pattern: str,
    *,
    frames: str,
    chunk: str,
    options: Sequence[str] = (),
) -> list[str]:
    """The render command line of one chunk; ``chunk`` is usually the manager's tokens."""
    return [
        python,
        "-m",
        "neuralstyle.farm",
        "render",
        input_pattern,
        "--output",
        output_pattern,
        "--frames",
        frames,
        "--chunk",
        chunk,
        *options,
    ]


def shell_line(args: Sequence[str]) -> str:
    """``args`` quoted for a POSIX shell (managers that take one command string)."""
    return shlex.join(args)
