"""A Deadline 10 job for a render: the CommandLine plugin, one task per chunk.

Write the two files and submit them::

    deadlinecommand -SubmitJob neuralstyle_job.job neuralstyle_plugin.job

Deadline replaces ``<STARTFRAME>``/``<ENDFRAME>`` per task, fails a task on a non-zero exit
status, requeues it up to the job's error limits, and fails it after ``TaskTimeoutMinutes``. For
one GPU per task, run one Deadline Worker per GPU with ``CUDA_VISIBLE_DEVICES`` set in its
environment (the render honours it), or pass ``--gpu N`` in ``options``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from neuralstyle.farm.templates import render_command, shell_line

__all__ = ["job_files", "write_job_files"]


def job_files(
    name: str,
    input_pattern: str,
    output_pattern: str,
    frames: str,
    *,
    chunk: int = 10,
    options: Sequence[str] = (),
    python: str = "python3",
    timeout_minutes: int = 60,
    pool: str = "",
    group: str = "",
    priority: int = 50,
) -> tuple[dict[str, str], dict[str, str]]:
    """The job info and plugin info key/values."""
    command = render_command(
        python,
        input_pattern,
        output_pattern,
        frames=frames,
        chunk="<STARTFRAME>-<ENDFRAME>",
        options=options,
    )
    job = {
        "Plugin": "CommandLine",
        "Name": name,
        "Frames": frames,
        "ChunkSize": str(chunk),
        "Priority": str(priority),
        "TaskTimeoutMinutes": str(timeout_minutes),
        "OnTaskTimeout": "Error",
        "ConcurrentTasks": "1",
        "OutputFilename0": output_pattern,
    }
    if pool:
        job["Pool"] = pool
    if group:
        job["Group"] = group
    plugin = {
        "Executable": command[0],
        "Arguments": shell_line(command[1:]),
        "Shell": "default",
        "ShellExecute": "False",
        "StartupDirectory": "",
    }
    return job, plugin


def _text(values: Mapping[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in values.items())


def write_job_files(
    folder: str | Path, job: Mapping[str, str], plugin: Mapping[str, str]
) -> tuple[Path, Path]:
    """Write ``neuralstyle_job.job`` and ``neuralstyle_plugin.job`` into ``folder``."""
    out = Path(folder)
    job_path, plugin_path = out / "neuralstyle_job.job", out / "neuralstyle_plugin.job"
    job_path.write_text(_text(job), "utf-8")
    plugin_path.write_text(_text(plugin), "utf-8")
    return job_path, plugin_path
