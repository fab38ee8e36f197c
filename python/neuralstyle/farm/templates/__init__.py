"""Job descriptions for farm managers, all running one command:
``python -m neuralstyle.farm render IN -o OUT --frames SHOT --chunk START-END ...``.

- ``neuralstyle.openjd.yaml``: an Open Job Description template (:func:`openjd_template`);
- :mod:`.opencue`: an OpenCue job built with pyoutline;
- :mod:`.deadline`: a Deadline 10 command-line job (job and plugin info files).

The jobs built in Python take the OpenJD template's parameters as :class:`RenderSettings`.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from neuralstyle.errors import InputError
from neuralstyle.params.table import by_name

__all__ = [
    "EXTRA_ARGS",
    "RenderSettings",
    "expand_extra_args",
    "openjd_template",
    "render_command",
    "split_extra_args",
]

#: The option that carries more options as one string (see :func:`expand_extra_args`).
EXTRA_ARGS = "--extra-args"


def openjd_template() -> Path:
    """The path of the shipped OpenJD job template."""
    return Path(str(resources.files(__name__).joinpath("neuralstyle.openjd.yaml")))


def _option(flag: str) -> Any:
    return field(default="", metadata={"flag": flag})


def _param(name: str) -> Any:
    """A node parameter's field: its option is the parameter table's."""
    flag = by_name()[name].flag
    assert flag is not None, name
    return _option(flag)


@dataclass(frozen=True)
class RenderSettings:
    """The render settings of a job: the OpenJD template's parameters, for the jobs built in
    Python (:mod:`.deadline`, :mod:`.opencue`).

    An empty string means "not given" (the render's default) and leaves the option out. The node
    parameters ``style``, ``strength``, ``second_style``, ``style_blend`` and ``stroke_scale``
    take a value or keys ``FRAME:VALUE,...``; ``method``, ``mask_mode``, ``preserve_colour``
    and ``temporal`` are constant over the shot. ``extra_args`` is any further options as one
    string, split as a POSIX shell splits words (no shell runs); they come last, so they win
    over the fields.
    """

    style: str = _param("style")
    strength: str = _param("strength")
    second_style: str = _param("second_style")
    style_blend: str = _param("style_blend")
    stroke_scale: str = _param("stroke_scale")
    keys: str = _option("--keys")
    mask: str = _option("--mask")
    mask_mode: str = _param("mask_mode")
    method: str = _param("method")
    preserve_colour: str = _param("preserve_colour")
    temporal: str = _param("temporal")
    profile: str = _option("--profile")
    device: str = _param("device")
    ocio: str = _option("--ocio")
    in_cs: str = _option("--in-cs")
    working_cs: str = _option("--working-cs")
    out_cs: str = _option("--out-cs")
    compression: str = _option("--compression")
    verify: bool = True
    skip_existing: bool = True
    extra_args: str = ""

    @classmethod
    def flags(cls) -> dict[str, str]:
        """Field name -> render option, for the fields that are one option with a value."""
        return {f.name: f.metadata["flag"] for f in fields(cls) if "flag" in f.metadata}

    def args(self) -> list[str]:
        """The render options, in the OpenJD template's order.

        Raises:
            InputError: ``extra_args`` has an unbalanced quote.
        """
        out: list[str] = []
        for name, flag in self.flags().items():
            value = getattr(self, name)
            if value.strip():
                out += [flag, value]
        out.append("--verify" if self.verify else "--no-verify")
        out.append("--skip-existing" if self.skip_existing else "--no-skip-existing")
        return out + split_extra_args(self.extra_args)


def split_extra_args(text: str) -> list[str]:
    """``text`` split into arguments the way a POSIX shell splits words: whitespace separates,
    quotes group, backslashes escape. Nothing is expanded (no variables, globs or ``#``
    comments: ``plate.####.exr`` stays whole) and no shell runs.

    Raises:
        InputError: an unbalanced quote or a trailing backslash.
    """
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise InputError(f"{EXTRA_ARGS}: cannot split {text!r}: {exc}") from None


def expand_extra_args(argv: Sequence[str]) -> list[str]:
    """``argv`` with each ``--extra-args TEXT`` (or ``--extra-args=TEXT``) replaced, in place, by
    the arguments :func:`split_extra_args` finds in TEXT.

    A job template substitutes a parameter into exactly one argument, so a free-text field of
    further options reaches the render command as one string; the render's entry point expands
    it before parsing.

    Raises:
        InputError: ``--extra-args`` without a value, or a value :func:`split_extra_args` refuses.
    """
    out: list[str] = []
    items = iter(argv)
    for arg in items:
        if arg == EXTRA_ARGS:
            text = next(items, None)
            if text is None:
                raise InputError(f"{EXTRA_ARGS}: expected one argument")
            out += split_extra_args(text)
        elif arg.startswith(EXTRA_ARGS + "="):
            out += split_extra_args(arg.partition("=")[2])
        else:
            out.append(arg)
    return out


def render_command(
    python: str,
    input_pattern: str,
    output_pattern: str,
    *,
    frames: str,
    chunk: str,
    settings: RenderSettings | None = None,
    options: Sequence[str] = (),
) -> list[str]:
    """The render command line of one chunk; ``chunk`` is usually the manager's tokens.

    ``settings`` (default: :class:`RenderSettings`'s defaults) become render options, followed
    by ``options`` exactly as given.

    Raises:
        InputError: a bad ``settings.extra_args``.
    """
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
        *(settings or RenderSettings()).args(),
        *options,
    ]


def shell_line(args: Sequence[str]) -> str:
    """``args`` quoted for a POSIX shell (managers that take one command string)."""
    return shlex.join(args)
