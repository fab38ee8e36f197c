"""``neuralstyle compile``: build this machine's compiled networks now, not at the first render.

``scripts/setup.sh`` runs it, so an artist's first frame never waits for a compiler. For each
compiled network (the built-in styles; the fast arbitrary-style transformer; the package trained
styles share) it builds the package when it is missing or unusable
(:mod:`neuralstyle.models.compiled`), loads it, checks it against the eager network on a test
image, and prints one line; then the frame arena (:mod:`neuralstyle.engine.frame_arena`), also
C++ built against this torch.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import Tensor

    from neuralstyle.models.compiled import Compilable

__all__ = ["TOLERANCE", "add_compile_parser"]

#: The most a compiled network's output may differ from the eager one's (0..1 pixels); measured
#: differences are below 3e-6 (float reassociation in the fused loops).
TOLERANCE = 1e-4


def add_compile_parser(commands: Any) -> None:
    """Add the ``compile`` command to ``commands`` (an ``add_subparsers()`` result)."""
    parser = commands.add_parser(
        "compile",
        help="compile the networks for this CPU (setup does it; about a minute)",
        description="Build, load and check this machine's compiled networks.",
    )
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    for name, spec, condition in _networks():
        _compile(name, spec, condition)
    _build_arena()
    return 0


def _build_arena() -> None:
    """Build the frame arena (:mod:`neuralstyle.engine.frame_arena`) unless it is built; load
    it to check it (loading installs nothing), say so in one line."""
    import ctypes

    from neuralstyle.engine import frame_arena
    from neuralstyle.errors import ModelError

    path = frame_arena.library_path()
    state = "up to date" if path.is_file() else "built"
    try:
        ctypes.CDLL(str(frame_arena.build(path))).ns_arena_install  # noqa: B018  # the symbol
    except (OSError, AttributeError) as exc:
        raise ModelError(f"cannot build the frame arena into {path}: {exc}") from exc
    print(f"frame arena: {state}: {path}")


def _networks() -> Iterator[tuple[str, Compilable, Tensor]]:
    """Each compiled network, weights loaded, with a condition to check it under."""
    # torch: see neuralstyle.cli's imports
    import torch

    from neuralstyle.methods import builtin, fast, trained

    yield "builtin", builtin.compilable(builtin.network()), torch.eye(26)[25]
    # the package every trained style loads its weights into
    yield "trained", trained.compilable(trained.template()), torch.ones(1)
    predictor, transformer = fast.networks()
    with torch.inference_mode():
        vector = predictor(_test_image(1))
    yield "fast", fast.compilable(transformer), vector


def _compile(name: str, spec: Compilable, condition: Tensor) -> None:
    """Build ``spec``'s package unless a usable one exists, check it, say so in one line."""
    from neuralstyle.errors import ModelError
    from neuralstyle.models.compiled import build, first_line, package_path

    path = package_path(spec)
    started = time.perf_counter()
    state = "built"
    if path.is_file():
        try:
            difference = _difference_to_eager(spec, path, condition)
            state = "up to date"
        except Exception as exc:  # unloadable: replace it
            print(f"{name}: {path} is unusable ({first_line(exc)}); building it again")
            path.unlink()
    if state == "built":
        try:
            build(spec, path)
            difference = _difference_to_eager(spec, path, condition)
        except Exception as exc:  # no compiler, a read-only cache, Inductor
            raise ModelError(
                f"cannot compile the {name} network into {path}: {first_line(exc)}"
            ) from exc
    if not difference <= TOLERANCE:
        raise ModelError(
            f"the compiled {name} network differs from the eager one by {difference:.2e} "
            f"(at most {TOLERANCE:.0e} expected); delete {path} and run again"
        )
    print(
        f"{name}: {state} in {time.perf_counter() - started:.0f} s, "
        f"max difference to eager {difference:.1e}: {path}"
    )


def _test_image(seed: int) -> Tensor:
    import torch

    return torch.rand(1, 3, 68, 124, generator=torch.Generator().manual_seed(seed))


def _difference_to_eager(spec: Compilable, path: Path, condition: Tensor) -> float:
    """The largest difference between the package and the eager module, on a size that is no
    multiple of 4 (so the padding is checked too)."""
    import torch

    from neuralstyle.models.compiled import CompiledNetwork

    image = _test_image(0)[..., :67, :121]
    compiled = CompiledNetwork(path)
    with torch.inference_mode():
        padded = spec.module.prepare(image, condition).contiguous()  # type: ignore[operator]
        out = compiled(padded, condition)[..., :67, :121]
        return float((out - spec.module(image, condition)).abs().max())
