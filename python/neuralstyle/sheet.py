"""A contact sheet of the built-in styles on one picture, to help an artist choose."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from tqdm.auto import tqdm

from neuralstyle.errors import InputError
from neuralstyle.methods.builtin import load_builtin
from neuralstyle.models.cin_net import MIN_SIZE
from neuralstyle.models.styles import all_styles, style_weights

__all__ = ["render_sheet"]

_PAD = 8
_LABEL = 20
_FONT_SIZE = 13


def render_sheet(
    image: np.ndarray,
    *,
    columns: int = 7,
    tile: int = 192,
    progress: bool = True,
    device: torch.device | str = "cpu",
) -> np.ndarray:
    """Render the original and all built-in styles as labelled tiles on one white sheet.

    The picture is first shrunk to fit ``tile`` x ``tile`` (aspect kept); each tile is labelled
    ``"NN name"`` (``"original"`` for the first).

    Args:
        image: the picture, display-referred RGB.
        columns: tiles per row.
        tile: the longer side of each tile in pixels.
        progress: show a tqdm bar (only when stderr is a terminal).
        device: where the network runs.

    Returns:
        The sheet, RGB uint8.

    Raises:
        InputError: ``image`` is not ``(H, W, 3)`` uint8, or ``columns``/``tile`` are too small.

    Shape:
        - image: :math:`(H, W, 3)`
        - output: :math:`(rows \\cdot (h + 28) + 8, columns \\cdot (w + 8) + 8, 3)` where
          :math:`h, w` is the tile size and rows = ceil(27 / columns)
    """
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3:
        got = (
            f"{image.dtype} {image.shape}"
            if isinstance(image, np.ndarray)
            else type(image).__name__
        )
        raise InputError(f"render_sheet: expected a uint8 array of shape (H, W, 3), got {got}")
    if image.shape[2] != 3:
        raise InputError(f"render_sheet: expected 3 channels (RGB), got shape {image.shape}")
    if columns < 1 or tile < MIN_SIZE:
        raise InputError(
            f"render_sheet: need columns >= 1 and tile >= {MIN_SIZE}, got {columns}, {tile}"
        )

    original = Image.fromarray(image)
    original.thumbnail((tile, tile), Image.Resampling.LANCZOS)
    if min(original.size) < MIN_SIZE:
        raise InputError(f"render_sheet: the picture is too thin to tile: {original.size}")
    model = load_builtin(device)
    x = torch.from_numpy(np.array(original)).permute(2, 0, 1)[None].to(model.device)
    x = x.float() / 255.0

    tiles = [("original", original)]
    styles = all_styles()
    for style in tqdm(styles, desc="styles", unit="style", disable=None if progress else True):
        y = model(x, style_weights(style))[0]
        pixels = (y.clamp(0.0, 1.0) * 255.0 + 0.5).to(torch.uint8).permute(1, 2, 0).cpu().numpy()
        tiles.append((f"{style.index:02d} {style.name}", Image.fromarray(pixels)))

    tw, th = original.size
    rows = -(-len(tiles) // columns)
    size = (_PAD + columns * (tw + _PAD), _PAD + rows * (_LABEL + th + _PAD))
    sheet = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=_FONT_SIZE)
    for n, (label, picture) in enumerate(tiles):
        row, col = divmod(n, columns)
        left, top = _PAD + col * (tw + _PAD), _PAD + row * (_LABEL + th + _PAD)
        draw.text((left + 1, top + 2), label, fill="black", font=font)
        sheet.paste(picture, (left, top + _LABEL))
    return np.asarray(sheet)
