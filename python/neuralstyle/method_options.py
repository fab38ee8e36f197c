"""Command-line options of the style-transfer methods, shared by ``neuralstyle stylize`` and
``neuralstyle render`` so that both spell and check them alike (the values are checked by
:class:`neuralstyle.engine.request.StyleRequest`)."""

from __future__ import annotations

import argparse
from typing import Any

from neuralstyle.command import warn
from neuralstyle.engine.request import COLOUR_MODES, INITS, MASK_MODES, METHODS, QUALITIES

__all__ = ["add_method_options", "method_controls"]

_CONTROLS = ("preserve_colour", "mask_mode", "seed", "init", "quality", "style_weight", "steps")
_QUALITY_FLAG = "--optimize-quality"
_QUALITY_DEST = "method_quality"  # not "quality": the render command's JPEG option has that dest


def add_method_options(group: Any, *, quality_alias: str | None = None) -> None:
    """Add ``--method`` and the methods' controls to an argparse parser or argument group.

    The optimisation preset is ``--optimize-quality`` (``neuralstyle render`` has a ``--quality``
    of its own, for JPEG files). ``quality_alias`` keeps an old spelling of it working: it sets
    the same value and prints a one-line deprecation warning on stderr.
    """
    add = group.add_argument
    add("--method", choices=METHODS, help="default: builtin for a style name, adain for a file")
    add(
        "--mask-mode",
        choices=MASK_MODES,
        help="strength (default): the mask limits the effect; styles: 1 --style, 0 --second-style",
    )
    add("--preserve-colour", choices=COLOUR_MODES, help="default none")
    add("--seed", type=int, metavar="N", help="optimize: noise seed (default 0)")
    add("--init", choices=INITS, help="optimize: start image (default content)")
    add(
        _QUALITY_FLAG,
        dest=_QUALITY_DEST,
        choices=QUALITIES,
        help="optimize: draft, standard (default) or high",
    )
    if quality_alias is not None:
        add(
            quality_alias,
            dest=_QUALITY_DEST,
            choices=QUALITIES,
            action=_DeprecatedAlias,
            help=f"deprecated spelling of {_QUALITY_FLAG}",
        )
    add("--style-weight", type=float, metavar="W", help="optimize: style loss weight (default 30)")
    add("--steps", type=int, metavar="N", help="optimize: evaluations per pyramid level")


class _DeprecatedAlias(argparse.Action):
    """Stores its value like the option it replaces, after a warning that names that option."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        warn(f"{self.option_strings[0]} is deprecated; use {_QUALITY_FLAG}")
        setattr(namespace, self.dest, values)


def method_controls(args: argparse.Namespace) -> dict[str, Any]:
    """The controls given on the command line, as :func:`neuralstyle.stylize` keywords."""
    values = {name: getattr(args, name, None) for name in _CONTROLS if name != "quality"}
    values["quality"] = getattr(args, _QUALITY_DEST, None)
    return {name: value for name, value in values.items() if value is not None}
