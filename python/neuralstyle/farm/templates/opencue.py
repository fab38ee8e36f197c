"""An OpenCue job for a render, built with ``opencue-pyoutline`` (which also needs ``packaging``).

One layer whose frames are the shot, chunked: RQD runs the command once per chunk with
``#FRAME_START#``/``#FRAME_END#`` replaced, exports ``CUE_GPU_CORES`` and ``CUE_THREADS`` (which the
render maps into ``CUDA_VISIBLE_DEVICES`` and its thread count before torch loads), and retries
failed chunks up to ``maxretries``. OpenCue's layer ``timeout`` is in minutes.

Serialising needs no Cuebot; launching does (``outline.cuerun.launch``), which is not tested here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from neuralstyle.farm.templates import RenderSettings, render_command, shell_line

__all__ = ["build_outline", "job_spec"]


def build_outline(
    name: str,
    input_pattern: str,
    output_pattern: str,
    frames: str,
    *,
    chunk: int = 10,
    settings: RenderSettings | None = None,
    options: Sequence[str] = (),
    python: str = "python3",
    show: str = "neuralstyle",
    shot: str = "shot",
    user: str = "render",
    cores: float = 4,
    gpus: int = 1,
    gpu_memory: str = "12g",
    timeout_minutes: int = 60,
    env: Mapping[str, str] | None = None,
) -> Any:
    """The pyoutline ``Outline`` of the job (one ``Shell`` layer).

    ``settings`` and ``options``: as :func:`~neuralstyle.farm.templates.render_command` takes them.

    Raises:
        InputError: a bad ``settings.extra_args``.
    """
    from outline import Outline
    from outline.modules.shell import Shell

    outline = Outline(name, frame_range=frames, shot=shot, show=show, user=user)
    command = render_command(
        python,
        input_pattern,
        output_pattern,
        frames=frames,
        chunk="#FRAME_START#-#FRAME_END#",
        settings=settings,
        options=options,
    )
    layer = Shell(
        "neuralstyle",
        # one string, quoted: pyoutline joins a list with plain spaces
        command=shell_line(command),
        range=frames,
        chunk=chunk,
        cores=cores,
        gpus=gpus,
        gpu_memory=gpu_memory,
        timeout=timeout_minutes,
        env=dict(env or {}),
    )
    outline.add_layer(layer)
    return outline


def job_spec(outline: Any, *, max_retries: int = 3) -> str:
    """The OpenCue job specification (XML) of ``outline``, without contacting Cuebot."""
    from outline.backend import cue
    from outline.cuerun import OutlineLauncher

    launcher = OutlineLauncher(outline, nomail=True, maxretries=max_retries)
    spec: str = cue.serialize_simple(launcher)
    return spec
