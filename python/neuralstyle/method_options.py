"""Command-line options of the style-transfer methods, shared by ``neuralstyle stylize`` and
``neuralstyle render`` so that both spell and check them alike (the values are checked by
:class:`neuralstyle.engine.request.StyleRequest`)."""

from __future__ import annotations

import argparse
from typing import Any

from neuralstyle.engine.request import COLOUR_MODES, INITS, MASK_MODES, METHODS, QUALITIES

__all__ = ["add_method_options", "method_controls"]

_CONTROLS = ("preserve_colour", "mask_mode", "seed", "init", "quality", "style_weight", "steps")


def add_method_options(group: Any, *, quality_flag: str = "--quality") -> None:
    """Add ``--method`` and the methods' controls to an argparse parser or argument group.

    ``quality_flag`` names the optimisation preset's option (``neuralstyle render`` has a
    ``--quality`` of its own, for JPEG files).
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
        quality_flag,
        dest="method_quality",
        choices=QUALITIES,
        help="optimize: draft, standard (default) or high",
    )
    add("--style-weight", type=float, metavar="W", help="optimize: style loss weight (default 30)")
    add("--steps", type=int, metavar="N", help="optimize: evaluations per pyramid level")


def method_controls(args: argparse.Namespace) -> dict[str, Any]:
    """The controls given on the command line, as :func:`neuralstyle.stylize` keywords."""
    values = {name: getattr(args, name, None) for name in _CONTROLS if name != "quality"}
    values["quality"] = getattr(args, "method_quality", None)
    return {name: value for name, value in values.items() if value is not None}
