"""Colour-space conversion through OpenColorIO (the ``opencolorio`` wheel).

A config is a file path or one of OCIO's built-in configs, which need no files and no network:
``ocio://default`` (the CG config) and ``ocio://studio-config-latest`` (cameras and ACES). Colour
spaces are named by name or alias (``ACEScg``, ``lin_rec709``, ``sRGB - Texture``).

Configs and processors are built on first use, once per process.
"""

from __future__ import annotations

import difflib
import functools
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import PyOpenColorIO as ocio  # noqa: N813  # short, as in OCIO's own examples

from neuralstyle.errors import InputError

__all__ = ["DEFAULT_CONFIG", "ColourSpace", "Transform", "config_name", "resolve", "transform"]

#: Used when no config is named and ``$OCIO`` is unset.
DEFAULT_CONFIG = "ocio://default"


def config_name(name: str | None = None) -> str:
    """The config to use: ``name``, else ``$OCIO``, else :data:`DEFAULT_CONFIG`."""
    return name or os.environ.get("OCIO") or DEFAULT_CONFIG


@functools.cache
def _config(name: str) -> ocio.Config:
    ocio.SetLoggingLevel(ocio.LOGGING_LEVEL_WARNING)
    try:
        config = ocio.Config.CreateFromFile(name)
        config.validate()
    except ocio.Exception as exc:
        raise InputError(f"cannot load the OCIO config {name!r}: {_first_line(exc)}") from None
    return config


@dataclass(frozen=True)
class ColourSpace:
    """A colour space of a config: its canonical name, whether its values are scene-linear, and
    whether it holds data rather than colour (``Raw``)."""

    config: str
    name: str
    scene_linear: bool
    data: bool = False


def resolve(config: str, name: str) -> ColourSpace:
    """The colour space ``name`` (or alias) of ``config``.

    Whether it is scene-linear comes from its ``encoding`` (OCIO 2); a config without encodings
    counts only its ``scene_linear`` role as linear.

    Raises:
        InputError: the config cannot be loaded, or has no such space (the message suggests some).
    """
    cfg = _config(config)
    space = cfg.getColorSpace(name)
    if space is None:
        names = list(cfg.getColorSpaceNames())
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
        hint = f"did you mean {', '.join(close)}?" if close else f"e.g. {', '.join(names[:4])}"
        raise InputError(f"unknown colour space {name!r} in OCIO config {config!r}: {hint}")
    encoding = space.getEncoding()
    if encoding:
        linear = encoding == "scene-linear"
    else:
        role = cfg.getColorSpace(cfg.getRoleColorSpace("scene_linear") or "")
        linear = role is not None and role.getName() == space.getName()
    return ColourSpace(config, space.getName(), linear, bool(space.isData()))


@dataclass(frozen=True)
class Transform:
    """A conversion between two colour spaces of one config, applied to RGB in place."""

    source: ColourSpace
    target: ColourSpace

    @property
    def is_identity(self) -> bool:
        return self.source.name == self.target.name or _processor(self).isNoOp()

    def apply(self, rgb: np.ndarray) -> None:
        """Convert ``rgb`` in place.

        Args:
            rgb: ``(H, W, 3)`` float32, C-contiguous; straight (not premultiplied) colour when
                the transform is not linear.
        """
        if rgb.dtype != np.float32 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise InputError(f"expected (H, W, 3) float32 colour, got {rgb.shape} {rgb.dtype}")
        if not rgb.flags.c_contiguous:
            raise InputError("expected C-contiguous colour for the OCIO transform")
        if self.is_identity:
            return
        _cpu(self).applyRGB(rgb)


def transform(config: str, source: str, target: str) -> Transform:
    """The :class:`Transform` from ``source`` to ``target`` in ``config`` (names checked)."""
    return Transform(resolve(config, source), resolve(config, target))


@functools.cache
def _processor(t: Transform) -> Any:
    cfg = _config(t.source.config)
    return cfg.getProcessor(t.source.name, t.target.name)


@functools.cache
def _cpu(t: Transform) -> Any:
    # Lossless: OCIO's default optimisation may swap exact curves for faster approximations.
    return _processor(t).getOptimizedCPUProcessor(
        ocio.BIT_DEPTH_F32, ocio.BIT_DEPTH_F32, ocio.OPTIMIZATION_LOSSLESS
    )


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
