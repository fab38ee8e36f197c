"""``neuralstyle train STYLE_IMAGE -o mystyle.safetensors``: a feed-forward style for one painting.

    neuralstyle train painting.jpg -o mystyle.safetensors [--bank] [--steps N] [--size PX]
                      [--adversarial W] [--stability W] [--seed N] [--device auto|cpu|cuda]
                      [--work DIR] [--restart] [--batch N] [--style-weight W] [--lr X]

Checkpoints and previews go to ``--work`` (default: the output with the suffix ``.training``);
running the same command again resumes there. What it trains and how:
:mod:`neuralstyle.training.style_trainer`; the measured defaults: docs/training.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from neuralstyle.command import PROG
from neuralstyle.params.table import by_name

__all__ = ["add_train_parser"]


def add_train_parser(commands: Any) -> None:
    """The ``train`` subcommand on ``commands`` (the CLI's subparsers)."""
    from neuralstyle.training.style_settings import TrainSettings, default_steps

    d = TrainSettings()
    parser = commands.add_parser(
        "train",
        help="train a feed-forward network for one painting (a style file everywhere)",
        description="Train a feed-forward network for one painting; the file it writes is a style "
        "everywhere (docs/training.md).",
    )
    add = parser.add_argument
    add("style", type=Path, metavar="STYLE_IMAGE", help="the painting")
    add("-o", "--output", required=True, type=Path, metavar="OUT",
        help="the trained style, .safetensors")  # fmt: skip
    add("--bank", action="store_true",
        help="train only a new style's rows against the built-in network (minutes; the whole "
        "network is best)")  # fmt: skip
    add("--steps", type=int, metavar="N",
        help=f"optimiser steps (default {default_steps('network')}, "
        f"{default_steps('bank')} with --bank)")  # fmt: skip
    add("--size", type=int, default=d.size, metavar="PX", help=f"crop size (default {d.size})")
    add("--batch", type=int, default=d.batch, metavar="N", help=f"crops a step (default {d.batch})")
    add("--adversarial", type=float, default=d.adversarial, metavar="W",
        help="weight of the PatchGAN term (default 0: off)")  # fmt: skip
    add("--stability", type=float, default=d.stability, metavar="W",
        help="weight of the shift-and-noise stability term (default 0: off)")  # fmt: skip
    add(
        "--style-weight",
        type=float,
        default=d.style_weight,
        metavar="W",
        help=f"weight of the style loss against the content's (default {d.style_weight:g})",
    )
    add("--style-size", type=int, default=d.style_size, metavar="PX",
        help="the painting's long side for its statistics (default: 1.5 x --size); larger paints "
        "larger strokes")  # fmt: skip
    add("--lr", type=float, default=d.lr, metavar="X", help=f"learning rate (default {d.lr:g})")
    add("--seed", type=int, default=d.seed, metavar="N", help="seed of every random choice")
    add("--threads", type=int, default=d.threads, metavar="N",
        help=f"CPU threads (default {d.threads})")  # fmt: skip
    device = by_name()["device"]
    add("--device", choices=device.values, default=device.default, help=device.cli_help)
    add("--work", type=Path, metavar="DIR", help="checkpoints and previews (default OUT.training)")
    add("--restart", action="store_true", help="discard the work folder's checkpoint")
    add("--preview-every", type=int, default=100, metavar="N",
        help="write a preview every N steps (default 100)")  # fmt: skip
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from neuralstyle.io.paths import check_no_overwrite
    from neuralstyle.training.style_trainer import train_style

    check_no_overwrite([args.output], [("the painting", args.style)])

    def log(line: str) -> None:
        print(f"{PROG}: {line}", file=sys.stderr)

    train_style(
        args.style,
        args.output,
        bank=args.bank,
        steps=args.steps,
        size=args.size,
        adversarial=args.adversarial,
        stability=args.stability,
        seed=args.seed,
        device=args.device,
        work=args.work,
        restart=args.restart,
        preview_every=args.preview_every,
        log=log,
        batch=args.batch,
        style_weight=args.style_weight,
        style_size=args.style_size,
        lr=args.lr,
        threads=args.threads,
    )
    return 0
