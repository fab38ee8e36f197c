"""A Deadline 10 job for a render: the CommandLine plugin, one task per chunk.

Write the two files and submit them::

    deadlinecommand -SubmitJob neuralstyle_job.job neuralstyle_plugin.job

Deadline replaces ``<STARTFRAME>``/``<ENDFRAME>`` per task, fails a task on a non-zero exit
status, requeues it up to the job's error limits, and fails it after ``TaskTimeoutMinutes``. For
one GPU per task, run one Deadline Worker per GPU with ``CUDA_VISIBLE_DEVICES`` set in its
environment (the render honours it), or pass ``--gpu N`` in ``options``.

How the arguments reach the render (the CommandLine plugin, ``plugins/CommandLine/CommandLine.py``
in the Deadline repository): with ``ShellExecute=False`` no shell runs. The plugin takes
``Arguments`` as one string, strips it, applies the repository's path mapping, replaces
``<STARTFRAME>``, ``<ENDFRAME>``, ``<STARTFRAME%N>``, ``<QUOTE>``, ``<AUXFILEn>`` and the
typographic quotes ``“”`` (which become ``"``), and starts ``Executable`` with it. The process
start splits the string by the Microsoft C runtime's rules (.NET's ``ProcessStartInfo.Arguments``
on Linux and macOS, the program's own C runtime on Windows): whitespace separates, double quotes
group, backslashes are literal except before a double quote. :func:`command_line` quotes for
those rules; single quotes are not quoting characters there, so POSIX (``shlex``) quoting would
reach the render literally.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from neuralstyle.errors import InputError
from neuralstyle.farm.templates import RenderSettings, render_command

__all__ = ["command_line", "job_files", "write_job_files"]

CHUNK = "<STARTFRAME>-<ENDFRAME>"
# What Deadline rewrites inside Arguments (besides our CHUNK): an argument holding one of these
# would not reach the render as written, and a line break would end the plugin-info entry.
_REWRITTEN = re.compile(r"<(?:STARTFRAME|ENDFRAME|QUOTE|AUXFILE\d+)(?:%\d+)?>|[“”\r\n]", re.I)


def job_files(
    name: str,
    input_pattern: str,
    output_pattern: str,
    frames: str,
    *,
    chunk: int = 10,
    settings: RenderSettings | None = None,
    options: Sequence[str] = (),
    python: str = "python3",
    timeout_minutes: int = 60,
    pool: str = "",
    group: str = "",
    priority: int = 50,
) -> tuple[dict[str, str], dict[str, str]]:
    """The job info and plugin info key/values.

    ``settings`` and ``options``: as :func:`~neuralstyle.farm.templates.render_command` takes them.

    Raises:
        InputError: an argument Deadline would change (see the module docstring), or a bad
            ``settings.extra_args``.
    """
    command = render_command(
        python,
        input_pattern,
        output_pattern,
        frames=frames,
        chunk=CHUNK,
        settings=settings,
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
        "Arguments": command_line(command[1:], keep=(CHUNK,)),
        "Shell": "default",
        "ShellExecute": "False",
        "StartupDirectory": "",
    }
    return job, plugin


def command_line(args: Sequence[str], *, keep: Sequence[str] = ()) -> str:
    """``args`` as one ``Arguments`` string that Deadline's process start splits back into
    exactly ``args`` (the inverse of the rules in the module docstring).

    Raises:
        InputError: an argument that Deadline would rewrite, other than those in ``keep``.
    """
    for arg in args:
        if arg not in keep and _REWRITTEN.search(arg):
            raise InputError(
                f"Deadline would change the argument {arg!r} (it replaces <TOKENS>, “” and "
                "line breaks in Arguments): rename the file or value"
            )
    return " ".join(_quote(arg) for arg in args)


def _quote(arg: str) -> str:
    # Single quotes are plain characters for these rules but quote for POSIX-style splitters
    # (Mono's on Linux): inside double quotes they read the same under both.
    if arg and not re.search(r"[\s\"']", arg):
        return arg
    # Backslashes are literal except in a run that ends at a double quote: double such runs
    # (and the one before the closing quote), and escape each double quote.
    body = re.sub(r'(\\*)"', r'\1\1\\"', arg)
    body = re.sub(r"(\\+)\Z", r"\1\1", body)
    return f'"{body}"'


def _text(values: Mapping[str, str]) -> str:
    for key, value in values.items():
        if "\n" in key + value or "\r" in key + value:
            raise InputError(f"a Deadline job entry cannot hold a line break: {key}={value!r}")
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
