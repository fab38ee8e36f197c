"""Reports of :mod:`neuralstyle.metrics`: the numbers explained, and pictures to judge them by.

- :func:`explain` / :func:`format_table`: each number of :func:`neuralstyle.metrics.evaluate`
  with which way is better, what it means and the content's own score as the baseline;
- :func:`write_report`: content, style and result side by side with those numbers;
- :func:`write_shot_report`: a shot's temporal stability, the warping error of each result per
  frame as a plot, and a contact sheet of a few frames with each result's warping residual.

Reports are a self-contained HTML page (``.html``, pictures inlined as base64 PNG) or one PNG
sheet (``.png``). Drawn with PIL only.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from neuralstyle.errors import InputError
from neuralstyle.metrics import evaluate

__all__ = [
    "DIFFERENCE_GAIN",
    "Explained",
    "ShotRow",
    "check_report_path",
    "explain",
    "format_table",
    "thumbnail",
    "write_report",
    "write_shot_report",
]


def check_report_path(path: str | Path) -> str:
    """``"html"`` or ``"png"``, what ``path`` asks for by its suffix.

    Raises:
        InputError: another suffix.
    """
    kind = Path(path).suffix.lower().lstrip(".")
    if kind not in ("html", "png"):
        raise InputError(f"a report is a .html or .png file, got {path}")
    return kind


def _resized(picture: Image.Image, height: int) -> Image.Image:
    width = max(1, round(picture.width * height / picture.height))
    # Small frames are enlarged without smoothing, so their pixels stay visible.
    resample = Image.Resampling.LANCZOS if height <= picture.height else Image.Resampling.NEAREST
    return picture.resize((width, height), resample)


class Explained(NamedTuple):
    """One metric of :func:`evaluate`, explained (a row of :func:`format_table`)."""

    metric: str
    result: float
    content: float | None  # the unstylised content scored the same way; None: no baseline
    better: str  # "higher", "lower", or "" for a metric this module does not know
    meaning: str


# metric: (its content baseline's key, which way is better, what it means). SSIM, PSNR and the
# content loss compare with the content itself, so the content's own score is trivial: no baseline.
_EXPLANATIONS: dict[str, tuple[str | None, str, str]] = {
    "ssim": (None, "higher", "structure kept from the content, max 1"),
    "psnr": (None, "higher", "pixel closeness to the content, dB"),
    "content_loss": (None, "lower", "VGG feature change from the content"),
    "style_distance": ("style_distance_content", "lower", "texture (Gram) distance to the style"),
    "ssi": ("ssi_content", "higher", "style similarity: 1 - style_distance"),
}
_BASELINE_NOTE = "content: the unstylised content scored the same way, the baseline to beat"


def explain(numbers: Mapping[str, float]) -> list[Explained]:
    """The metrics in ``numbers`` (from :func:`evaluate`), each with its content baseline where
    one exists (folded into its metric's row), which way is better and a short meaning. Keys
    this module does not know are kept, unexplained."""
    folded = {b for k, (b, _, _) in _EXPLANATIONS.items() if b in numbers and k in numbers}
    rows = []
    for key, value in numbers.items():
        if key in folded:
            continue
        baseline, better, meaning = _EXPLANATIONS.get(key, (None, "", ""))
        content = numbers[baseline] if baseline is not None and baseline in folded else None
        rows.append(Explained(key, value, content, better, meaning))
    return rows


def _cells(row: Explained) -> tuple[str, str, str, str, str]:
    content = "-" if row.content is None else f"{row.content:.4f}"
    return row.metric, f"{row.result:.4f}", content, row.better, row.meaning


def _sentence(row: Explained) -> str:
    """``"ssi: 0.2734 (content 0.3646; higher is better): style similarity: ..."``."""
    notes = [] if row.content is None else [f"content {row.content:.4f}"]
    notes += [f"{row.better} is better"] if row.better else []
    text = f"{row.metric}: {row.result:.4f}" + (f" ({'; '.join(notes)})" if notes else "")
    return f"{text}: {row.meaning}" if row.meaning else text


def format_table(numbers: Mapping[str, float]) -> str:
    """:func:`explain` as a plain-text table for a terminal, with a line on the baseline."""
    rows = [Explained._fields, *(_cells(r) for r in explain(numbers))]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        f"{m:<{widths[0]}}  {v:>{widths[1]}}  {c:>{widths[2]}}  {b:<{widths[3]}}  {t}".rstrip()
        for m, v, c, b, t in rows
    ]
    lines.append(_BASELINE_NOTE)
    return "\n".join(lines)


def _picture(image: np.ndarray) -> Image.Image:
    """A metrics image (:mod:`neuralstyle.metrics`: uint8, or float in [0, 1]) for PIL."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        got = getattr(image, "shape", type(image).__name__)
        raise InputError(f"report: expected an (H, W, 3) image, got {got}")
    if image.dtype != np.uint8:
        image = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(image))


def _png_bytes(image: np.ndarray | Image.Image) -> bytes:
    buf = io.BytesIO()
    (image if isinstance(image, Image.Image) else _picture(image)).save(buf, format="PNG")
    return buf.getvalue()


def _data_url(image: np.ndarray | Image.Image) -> str:
    return f"data:image/png;base64,{base64.b64encode(_png_bytes(image)).decode()}"


def write_report(
    path: str | Path,
    content: np.ndarray,
    style: np.ndarray,
    result: np.ndarray,
    numbers: Mapping[str, float] | None = None,
    *,
    title: str = "neuralstyle report",
) -> Path:
    """Content, style and result side by side with their numbers, explained (:func:`explain`):
    a self-contained HTML page (``.html``) or a PNG sheet (``.png``). ``numbers`` default
    :func:`neuralstyle.metrics.evaluate`.

    Raises:
        InputError: another suffix, or bad images.
    """
    out = Path(path)
    kind = check_report_path(out)
    nums = dict(numbers) if numbers is not None else evaluate(content, style, result)
    images = (("content", content), ("style", style), ("result", result))
    if kind == "html":
        cells = "".join(
            f'<figure><img src="{_data_url(im)}" style="max-height:320px">'
            f"<figcaption>{name}</figcaption></figure>"
            for name, im in images
        )
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in _cells(r)) + "</tr>"
            for r in explain(nums)
        )
        head = "".join(f"<th>{name}</th>" for name in Explained._fields)
        page = (
            f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<h1>{html.escape(title)}</h1><div style='display:flex;gap:12px'>{cells}</div>"
            f"<table border=1 cellpadding=4><caption>{_BASELINE_NOTE}</caption><tr>{head}</tr>"
            f"{rows}</table>\n"
        )
        out.write_text(page, encoding="utf-8")
        return out
    h = 256
    tiles = [_resized(_picture(im), h) for _, im in images]
    lines = [_sentence(r) for r in explain(nums)]
    text_h = 16 * (len(lines) + 2)
    sheet = Image.new("RGB", (sum(t.width for t in tiles) + 8 * 4, h + 32 + text_h), "white")
    draw = ImageDraw.Draw(sheet)
    x = 8
    for (name, _), tile in zip(images, tiles, strict=True):
        sheet.paste(tile, (x, 24))
        draw.text((x, 6), name, fill="black")
        x += tile.width + 8
    y = h + 32
    draw.text((8, y), title, fill="black")
    for line in lines:
        y += 16
        draw.text((8, y), line, fill="black")
    sheet.save(out)
    return out


# --- a shot's temporal stability ----------------------------------------------------------------

#: Warping residuals are mostly near black; times 4 shows where a result boils.
DIFFERENCE_GAIN = 4.0
_TILE = 160  # the contact sheet's tile height, px
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
_SOURCES = "sources"  # the plate's own error, drawn grey: the floor the flow leaves
_GREY = "#9a9a9a"


@dataclass(frozen=True)
class ShotRow:
    """One frame of a shot report's contact sheet: the source and each result at ``frame``
    (:func:`thumbnail`), and each result's warping residual against the next frame
    (:func:`difference`), by result name."""

    frame: int
    source: np.ndarray
    results: Mapping[str, np.ndarray]
    differences: Mapping[str, np.ndarray]


def thumbnail(image: np.ndarray) -> np.ndarray:
    """``image`` (uint8, or float in [0, 1]) as a contact sheet tile: uint8, 160 px high. A shot
    read frame by frame keeps these, never its full frames."""
    return np.asarray(_resized(_picture(image), _TILE))


def difference(residual: np.ndarray) -> np.ndarray:
    """A :func:`neuralstyle.metrics.warping_residual` as the sheet shows it: times
    :data:`DIFFERENCE_GAIN`, clipped to 1, as a :func:`thumbnail`."""
    return thumbnail(np.clip(residual * DIFFERENCE_GAIN, 0.0, 1.0))


def _font(size: int = 13) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size)


def _steps(low: float, high: float, count: int, *, whole: bool = False) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten) covering ``low`` to ``high``."""
    raw = max(high - low, 1e-12) / count
    power = 10.0 ** np.floor(np.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1.0) if whole else step
    first, last = np.ceil(low / step - 1e-9), np.ceil(high / step - 1e-9)
    return [float(i * step) + 0.0 for i in np.arange(first, last + 0.5)]  # + 0.0: no "-0"


def plot_errors(
    frames: Sequence[int], errors: Mapping[str, Sequence[float]], size: tuple[int, int] = (760, 320)
) -> Image.Image:
    """The warping error of each series against frame number (:math:`E_t` drawn at frame t):
    axes, ticks, a line per series and a legend. A series named ``"sources"`` is drawn grey."""
    width, height = size
    left, right, top, bottom = 72, 130, 44, 50  # the legend goes in the right margin
    image = Image.new("RGB", size, "white")
    draw, font = ImageDraw.Draw(image), _font()
    xs = list(frames)[: max(len(v) for v in errors.values())]
    y_ticks = _steps(0.0, max(max(v, default=0.0) for v in errors.values()) or 1e-3, 5)
    x_low, x_high = (xs[0], xs[-1]) if xs[-1] != xs[0] else (xs[0] - 1, xs[0] + 1)

    def at(frame: float, value: float) -> tuple[float, float]:
        x = left + (frame - x_low) / (x_high - x_low) * (width - left - right)
        return x, top + (1 - value / y_ticks[-1]) * (height - top - bottom)

    for value in y_ticks:
        y = at(x_low, value)[1]
        draw.line([(left, y), (width - right, y)], fill="#e4e4e4")
        draw.text((left - 6, y), f"{value:.3g}", font=font, fill="black", anchor="rm")
    for frame in [f for f in _steps(x_low, x_high, 8, whole=True) if f <= x_high]:
        x = at(frame, 0.0)[0]
        draw.line([(x, height - bottom), (x, height - bottom + 4)], fill="black")
        draw.text((x, height - bottom + 6), f"{frame:g}", font=font, fill="black", anchor="mt")
    draw.line([(left, top), (left, height - bottom), (width - right, height - bottom)], "black")
    title = "warping error E_t: frame t against frame t+1 warped onto it (lower is steadier)"
    draw.text((left, 12), title, font=font, fill="black")
    draw.text(
        ((left + width - right) / 2, height - 8), "frame t", font=font, fill="black", anchor="ms"
    )
    palette = iter(_COLOURS * len(errors))
    colours = {name: _GREY if name == _SOURCES else next(palette) for name in errors}
    for name in sorted(errors, key=lambda n: n != _SOURCES):  # the floor under the results
        points = [at(f, v) for f, v in zip(xs, errors[name], strict=False)]
        if len(points) > 1:
            draw.line(points, fill=colours[name], width=2, joint="curve")
        for x, y in points if len(points) <= 60 else ():
            draw.ellipse([(x - 3, y - 3), (x + 3, y + 3)], fill=colours[name])
    x, y = width - right + 16, top
    for name, colour in colours.items():
        draw.line([(x, y + 7), (x + 20, y + 7)], fill=colour, width=3)
        draw.text((x + 28, y), name, font=font, fill="black")
        y += 18
    return image


def contact_sheet(rows: Sequence[ShotRow]) -> Image.Image:
    """A row per :class:`ShotRow`, labelled with its frame; columns source, each result, each
    result's difference."""
    names = list(rows[0].results)
    headers = ["source", *names, *(f"{n}: residual x{DIFFERENCE_GAIN:g}" for n in names)]
    grid = [[row.source, *row.results.values(), *row.differences.values()] for row in rows]
    tiles = [[_resized(_picture(t), _TILE) for t in line] for line in grid]
    widths = [t.width for t in tiles[0]]
    label, gap, head = 78, 6, 24
    note = (
        f"residual: |O_t - warp(O_t+1)|, frame t against the next warped onto it by the sources' "
        f"flow, times {DIFFERENCE_GAIN:g}; occluded and untrusted pixels are black"
    )
    size = (label + sum(widths) + gap * len(widths), head + len(rows) * (_TILE + gap) + 20)
    sheet = Image.new("RGB", size, "white")
    draw, font = ImageDraw.Draw(sheet), _font()
    x = label
    for header, width in zip(headers, widths, strict=True):
        draw.text(
            (x, head - 6), _fit(draw, header, width, font), font=font, fill="black", anchor="ls"
        )
        x += width + gap
    y = head
    for row, line in zip(rows, tiles, strict=True):
        draw.text((6, y + _TILE // 2), f"frame {row.frame}", font=font, fill="black", anchor="lm")
        x = label
        for tile in line:
            sheet.paste(tile, (x, y))
            x += tile.width + gap
        y += _TILE + gap
    draw.text((label, y + 2), _fit(draw, note, size[0] - label, font), font=font, fill="#444444")
    return sheet


def _fit(draw: ImageDraw.ImageDraw, text: str, width: float, font: object) -> str:
    """``text``, cut with an ellipsis to fit ``width`` px."""
    while len(text) > 1 and draw.textlength(text, font=font) > width:  # type: ignore[arg-type]
        text = text[:-2] + "…"
    return text


def write_shot_report(
    path: str | Path,
    frames: Sequence[int],
    errors: Mapping[str, Sequence[float]],
    rows: Sequence[ShotRow],
    summary: Sequence[str] = (),
    *,
    title: str = "neuralstyle shot report",
) -> Path:
    """A shot's temporal stability: the ``summary`` lines (as the command prints them),
    :func:`plot_errors` of the per-frame warping ``errors`` of each result over ``frames``, and
    the :func:`contact_sheet` of ``rows``; a self-contained HTML page (``.html``) or one PNG
    (``.png``).

    Raises:
        InputError: another suffix, no rows, or bad images.
    """
    out = Path(path)
    kind = check_report_path(out)
    if not rows:
        raise InputError("write_shot_report: expected at least one frame for the contact sheet")
    sheet = contact_sheet(rows)
    plot = plot_errors(frames, errors, (min(max(sheet.width, 760), 1400), 320))
    if kind == "html":
        page = (
            f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<h1>{html.escape(title)}</h1><pre>{html.escape(chr(10).join(summary))}</pre>"
            f"<h2>Warping error per frame</h2><img src='{_data_url(plot)}' alt='plot'>"
            f"<h2>Frames</h2><img src='{_data_url(sheet)}' alt='contact sheet'>\n"
        )
        out.write_text(page, encoding="utf-8")
        return out
    font, lines = _font(), [title, *summary]
    head = 18 * len(lines) + 16
    size = (max(plot.width, sheet.width), head + plot.height + sheet.height + 12)
    canvas = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(lines):
        draw.text((12, 8 + 18 * i), line, font=font, fill="black")
    canvas.paste(plot, (0, head))
    canvas.paste(sheet, (0, head + plot.height + 12))
    canvas.save(out)
    return out
