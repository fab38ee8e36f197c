"""A plate's channels to what the engine takes, and the engine's result back to a plate.

The engine stylises ``(H, W, 3|4)`` colour (RGB, or RGBA). A plate may instead carry grey (one
channel, or grey and alpha) and channels after colour and alpha (depth, IDs, ...) that the engine
never sees. :func:`engine_input` picks and widens the colour channels and, under colour management,
hands them through the :class:`~neuralstyle.farm.colour_stage.ColourStage`;
:func:`output_plate` puts the stylised colour back with the plate's own names, extra channels
and attributes.
"""

from __future__ import annotations

import numpy as np

from neuralstyle.farm.colour_stage import ColourStage
from neuralstyle.io.plates import Plate

__all__ = ["engine_input", "output_plate"]


def engine_input(plate: Plate, stage: ColourStage | None) -> tuple[np.ndarray, bool]:
    """The colour the engine gets, and whether it carries alpha.

    Without ``stage`` the colour keeps the plate's dtype and premultiplication; with one it is
    float32 straight working colour (:meth:`ColourStage.to_engine`).
    """
    colour = plate.pixels[..., : plate.colour]
    if plate.colour in (1, 2):  # grey: the engine's 1-channel images are alpha-only
        colour = colour[..., [0, 0, 0, 1] if plate.colour == 2 else [0, 0, 0]]
    has_alpha = colour.shape[2] == 4
    if stage is None:
        return np.ascontiguousarray(colour), has_alpha
    if colour.dtype.kind != "f":
        colour = _unit_float(colour)
    return stage.to_engine(colour, plate.premultiplied), has_alpha


def output_plate(
    plate: Plate, styled: np.ndarray, stage: ColourStage | None, has_alpha: bool
) -> Plate:
    """The plate to write: ``styled`` (the engine's result for :func:`engine_input`'s colour)
    as its colour, then ``plate``'s extra channels, names, premultiplication and attributes.

    Stylised channels are stored half; extra channels keep their formats (and become float32 in
    memory when their dtype differs from the stylised colour's).
    """
    if stage is not None:
        styled = stage.from_engine(styled, plate.premultiplied and has_alpha)
    names = ("R", "G", "B", "A")[: styled.shape[2]]
    extra = plate.extra
    if plate.colour >= 3:
        names = tuple(plate.channels[: plate.colour])
    if extra.shape[2] and extra.dtype != styled.dtype:
        extra = _unit_float(extra)
    pixels = np.concatenate([styled, extra], axis=2) if extra.shape[2] else styled
    formats = ("half",) * styled.shape[2] + plate.formats[plate.colour :]
    return Plate(
        pixels,
        names + tuple(plate.channels[plate.colour :]),
        styled.shape[2],
        plate.premultiplied,
        dict(plate.attributes),
        formats,
    )


def _unit_float(pixels: np.ndarray) -> np.ndarray:
    """Integer pixels as float32 in [0, 1] (the dtype's maximum is 1)."""
    return pixels.astype(np.float32) / float(np.iinfo(pixels.dtype).max)
