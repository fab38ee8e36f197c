"""The node's parameters as command-line options, from the table, for ``neuralstyle stylize`` and
``neuralstyle render``: both spell, type and explain them alike, and a parameter added to the
table is an option of both (the values are checked by :class:`neuralstyle.engine.request.
StyleRequest` and, for keys, :mod:`neuralstyle.farm.keyframes`).

Each option stores under ``param_<name>`` (the render command has a ``--quality`` of its own, for
JPEG files); :func:`given` reads them back as ``{name: value}``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from typing import Any

from neuralstyle.command import warn
from neuralstyle.params.table import Param, by_name

__all__ = ["add_param_options", "given"]

_PREFIX = "param_"
_METAVARS = {"double": "X", "integer": "N", "style": "NAME|FILE", "file": "FILE"}


def add_param_options(
    group: Any,
    names: Iterable[str],
    *,
    keys: bool = False,
    blank_is_unset: bool = False,
    aliases: dict[str, str] | None = None,
) -> None:
    """Add the options of the parameters ``names`` to an argparse parser or argument group.

    Args:
        keys: the table's keyed parameters take ``FRAME:VALUE,...`` (a string, parsed by
            :mod:`neuralstyle.farm.keyframes`) instead of one typed value.
        blank_is_unset: an empty value means "not given" (job templates cannot leave an
            argument out).
        aliases: parameter name -> an old spelling of its option, kept working with a one-line
            deprecation warning on stderr.
    """
    table = by_name()
    for name in names:
        p = table[name]
        if p.flag is None:
            raise ValueError(f"parameter {name} has no command-line option")
        kwargs = _kind(p, keys=keys, blank_is_unset=blank_is_unset)
        # The process settings have a value whatever the command line says; the style's values
        # stay None when not given, so the engine's rules (e.g. the method from the style) apply.
        default = p.default if p.group == "process" else None
        group.add_argument(p.flag, dest=_PREFIX + name, default=default, help=p.cli_help, **kwargs)
        old = (aliases or {}).get(name)
        if old is not None:
            group.add_argument(
                old,
                dest=_PREFIX + name,
                action=_DeprecatedAlias,
                help=f"deprecated spelling of {p.flag}",
                **kwargs,
            )


def given(args: argparse.Namespace, names: Iterable[str] | None = None) -> dict[str, Any]:
    """The parameters given on the command line (of ``names``, default all) as ``{name:
    value}``; options not given (or given empty where blanks mean unset) are left out."""
    wanted = None if names is None else set(names)
    out: dict[str, Any] = {}
    for dest, value in vars(args).items():
        name = dest.removeprefix(_PREFIX)
        if dest == name or (wanted is not None and name not in wanted):
            continue
        if value is not None and not (isinstance(value, str) and value.strip() == ""):
            out[name] = value
    return out


def _kind(p: Param, *, keys: bool, blank_is_unset: bool) -> dict[str, Any]:
    """argparse's ``type``, ``choices`` and ``metavar`` for ``p``."""
    if keys and p.keyed is not None:
        return {"metavar": _METAVARS[p.kind]}  # FRAME:VALUE keys are parsed by the farm
    if p.kind == "choice":
        if blank_is_unset:
            # argparse checks `choices` before any code sees the value; a type check lets ""
            # through as "not given" and lists only the real options.
            return {"type": _one_of(p.values), "metavar": "{" + ",".join(p.values) + "}"}
        return {"choices": p.values}
    number: Callable[[str], Any] = {"double": float, "integer": int}.get(p.kind, str)
    if blank_is_unset and number is not str:
        number = _or_blank(number)
    return {"type": number, "metavar": _METAVARS[p.kind]}


def _one_of(values: tuple[str, ...]) -> Callable[[str], str]:
    def check(text: str) -> str:
        if text.strip() == "" or text in values:
            return text
        choices = ", ".join(repr(v) for v in values)
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {choices})")

    return check


def _or_blank(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        return text if text.strip() == "" else convert(text)

    parse.__name__ = convert.__name__  # argparse names the type in "invalid int value"
    return parse


class _DeprecatedAlias(argparse.Action):
    """Stores its value like the option it replaces, after a warning that names that option."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        option = by_name()[self.dest.removeprefix(_PREFIX)].flag
        warn(f"{self.option_strings[0]} is deprecated; use {option}")
        setattr(namespace, self.dest, values)
