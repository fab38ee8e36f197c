"""What every ``neuralstyle`` command line shares: the parser whose usage errors are ordinary
errors, and the one error barrier in front of the shell.

Both entry points (:mod:`neuralstyle.cli` and ``python -m neuralstyle.farm``) run through
:func:`run_command`, so they report errors alike: exactly one line ``neuralstyle: error: <message>``
on stderr and the exit status of :mod:`neuralstyle.errors`. Imports nothing heavy.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from neuralstyle.errors import InputError, NeuralStyleError
from neuralstyle.io.video import CODECS

__all__ = ["PROG", "CommandParser", "add_codec_option", "run_command", "warn"]

PROG = "neuralstyle"


class CommandParser(argparse.ArgumentParser):
    """Usage errors become :class:`InputError`, reported like every other error."""

    def error(self, message: str) -> NoReturn:
        raise InputError(f"{message} (see `{self.prog} --help`)")


def add_codec_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--codec h264|prores``, a video output's codec: one spelling for every command."""
    parser.add_argument(
        "--codec", choices=CODECS, help="a video output's codec (default h264; prores: .mov)"
    )


def run_command(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None = None,
    *,
    prepare: Callable[[Sequence[str]], list[str]] | None = None,
) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), rewritten by ``prepare`` when given, and run
    the chosen command (``args.run(args)``); return the exit status.

    Errors never escape: a :class:`NeuralStyleError` is one line and its exit code, ``--help``
    and ``--version`` return their status, Ctrl-C returns 130, and a reader that closed the
    pipe (``neuralstyle styles | head``) ends the command quietly with 1.
    """
    try:
        words = sys.argv[1:] if argv is None else list(argv)
        args = parser.parse_args(words if prepare is None else prepare(words))
        status: int = args.run(args)
        return status
    except NeuralStyleError as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return exc.exit_code
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left; stop quietly
        # Python flushes stdout at exit and would fail again on the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def warn(message: str) -> None:
    """One line ``neuralstyle: warning: <message>`` on stderr; the command goes on."""
    print(f"{PROG}: warning: {message}", file=sys.stderr)
