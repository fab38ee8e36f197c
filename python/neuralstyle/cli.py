"""``neuralstyle``: the node's render from a shell, for pipelines and render farms.

    neuralstyle stylize IN [IN ...] -o OUT [--method builtin|fast|adain|optimize]
                        [--style NAME|FILE] [--second-style NAME|FILE --style-blend W]
                        [--strength S] [--mask FILE [--mask-mode strength|styles]]
                        [--preserve-colour none|luminance|histogram] [--stroke-scale X]
                        [--render-scale R [--frame-size WxH]]
                        [--seed N --init content|noise --optimize-quality Q
                         --style-weight W --steps N]
                        [--device auto|cpu|cuda]
    neuralstyle stylize clip.mp4 -o styled.mp4|styled.mov|f.####.png [--codec h264|prores] [...]
    neuralstyle eval CONTENT STYLE RESULT [-o report.html|report.png] [--json]
    neuralstyle eval-shot SOURCES RESULT [--compare OTHER] [--frames RANGE]
                          [-o shot.html|shot.png] [--json]   (temporal stability: eval_shot.py)
    neuralstyle styles
    neuralstyle sheet IN -o sheet.png [--columns N] [--tile PX] [--device ...]
    neuralstyle render plate.####.exr -o out.####.exr --frames 1001-1100 [--chunk ...] [...]
                        (image sequences for render farms: docs/farm.md; or -o shot.mp4|.mov)
    neuralstyle compile   (the networks for this CPU; setup runs it: models/compiled.py)
    neuralstyle train painting.jpg -o mystyle.safetensors [--bank] [--steps N] [--size PX]
                      [--adversarial W] [--stability W]   (a style of your own: docs/training.md)

Renders go through :func:`neuralstyle.stylize`, the same engine as the plugin. Errors are one line,
``neuralstyle: error: <message>``, and the exit status says what failed: 2 usage or input, 3 model,
4 image I/O, 75 device (retryable elsewhere). Never prompts, never reads stdin. Outputs are written
atomically. One log line per file goes to stderr; the progress bar shows only on a terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from neuralstyle import __version__
from neuralstyle.api import styles, stylize
from neuralstyle.command import PROG, CommandParser, add_codec_option, run_command
from neuralstyle.compile_networks import add_compile_parser
from neuralstyle.engine import determinism
from neuralstyle.engine.methods import method_for
from neuralstyle.engine.request import StyleRequest
from neuralstyle.engine.style_source import StyleImage, TrainedFile
from neuralstyle.errors import InputError
from neuralstyle.eval_shot import add_eval_shot_parser
from neuralstyle.farm.render_command import add_render_parser
from neuralstyle.io.images import as_colour, check_format, convert, read, write_image
from neuralstyle.io.paths import check_no_overwrite, make_output_folders
from neuralstyle.io.video import is_video

# Modules that load torch (about 1.2 s, -X importtime: engine.device, io.style_image, metrics,
# sheet) are imported inside the commands that use them: `neuralstyle render` runs through this
# module too, and must choose its GPU and threads before torch loads (farm/environment.py).
from neuralstyle.params.options import add_param_options, given
from neuralstyle.params.table import METHOD_OPTIONS, PROCESS_OPTIONS, STYLE_OPTIONS, by_name
from neuralstyle.training.train_command import add_train_parser

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    return run_command(_build_parser(), argv)


def _build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog=PROG,
        description="Neural style transfer for compositing pipelines.",
        epilog="exit status: 0 ok, 2 usage or input, 3 model, 4 image I/O, 75 device (retryable)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    stylize = commands.add_parser("stylize", help="stylise images (what the node renders)")
    add = stylize.add_argument
    add("inputs", nargs="+", type=Path, metavar="IN", help="image files, or one video file")
    add(
        "-o",
        "--output",
        required=True,
        type=Path,
        metavar="OUT",
        help="file, or folder; for a video: a video file or an image sequence (out.####.png)",
    )
    add_codec_option(stylize)
    add_param_options(stylize, STYLE_OPTIONS)
    add("--mask", type=Path, metavar="FILE", help="its last channel: 0 keeps the source")
    add(
        "--render-scale",
        type=float,
        default=1.0,
        metavar="R",
        help="the input is a proxy at this fraction of the full resolution (default 1)",
    )
    add(
        "--frame-size",
        type=_frame_size,
        metavar="WxH",
        help="with --render-scale: the full frame's size (default: the input's size over R; "
        "give it when a side of the frame is odd)",
    )
    add_param_options(stylize, METHOD_OPTIONS, aliases={"quality": "--quality"})
    add_param_options(stylize, PROCESS_OPTIONS)
    stylize.set_defaults(run=_run_stylize)

    evaluate = commands.add_parser("eval", help="quality metrics of a stylised image")
    add = evaluate.add_argument
    add("content", type=Path, metavar="CONTENT", help="the image before stylisation")
    add("style", type=Path, metavar="STYLE", help="the style image")
    add("result", type=Path, metavar="RESULT", help="the stylised image")
    add("-o", "--output", type=Path, metavar="REPORT", help="a .html or .png report")
    add("--json", action="store_true", help="print the numbers as one JSON object")
    _device_option(evaluate)
    evaluate.set_defaults(run=_run_eval)
    add_eval_shot_parser(commands)

    styles = commands.add_parser("styles", help="list the built-in styles")
    styles.set_defaults(run=_run_styles)

    sheet = commands.add_parser("sheet", help="a contact sheet of every style on one picture")
    add = sheet.add_argument
    add("input", type=Path, metavar="IN", help="the picture")
    add("-o", "--output", required=True, type=Path, metavar="OUT", help="the sheet image")
    add("--columns", type=int, default=7, metavar="N", help="tiles per row (default 7)")
    add("--tile", type=int, default=192, metavar="PX", help="tile size (default 192)")
    _device_option(sheet)
    sheet.set_defaults(run=_run_sheet)

    add_render_parser(commands)
    add_compile_parser(commands)
    add_train_parser(commands)
    return parser


def _device_option(parser: argparse.ArgumentParser) -> None:
    device = by_name()["device"]
    parser.add_argument(
        "--device", choices=device.values, default=device.default, help=device.cli_help
    )


def _frame_size(text: str) -> tuple[int, int]:
    """``"1919x1080"`` -> ``(1080, 1919)``: (height, width) from the usual width x height."""
    width, sep, height = text.lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit()):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels, got {text!r}")
    return int(height), int(width)


def _run_stylize(args: argparse.Namespace) -> int:
    from neuralstyle.engine.device import resolve_device  # torch: see the imports

    values = given(args)
    if "style_blend" in values and "second_style" not in values:
        raise InputError("--style-blend needs --second-style")
    # Everything is checked before the first output is written (or its folder made): a refusal
    # or a bad file leaves the output folder as it was. The request is what renders.
    request = StyleRequest.create(**values)
    styles = [s for s in (request.style, request.second_style) if isinstance(s, StyleImage)]
    trained = [request.style] if isinstance(request.style, TrainedFile) else []
    device = resolve_device(request.device)
    if args.mask is None and request.mask_mode == "styles":
        raise InputError("--mask-mode styles needs --mask")
    if any(is_video(p) for p in args.inputs):
        return _run_stylize_video(args, values, request, styles, device)
    if args.codec is not None:
        raise InputError("--codec is for video outputs")
    jobs = _output_paths(args.inputs, args.output)
    read_files = [("the input", source) for source, _ in jobs] + _reads(args, styles)
    read_files += [("the trained style", t.path) for t in trained]
    check_no_overwrite([target for _, target in jobs], read_files)
    mask = _decode_styles_and_mask(args, styles)
    for source, target in jobs:  # decoded in full, then again to render: memory stays one image
        _check_input(source, target, mask)
    make_output_folders(dict.fromkeys(target.parent for _, target in jobs))

    for source, target in tqdm(jobs, desc="stylize", unit="image", disable=None, file=sys.stderr):
        start = time.perf_counter()
        image = read(source)
        pixels = as_colour(image.pixels)
        with _progress_bar(request, source.name) as progress:
            out = stylize(
                pixels,
                mask=mask,
                render_scale=args.render_scale,
                frame_size=args.frame_size,
                premultiplied=image.premultiplied,
                progress=progress,
                **values,
            )
        write_image(target, out, premultiplied=image.premultiplied)
        fields = {
            "in": source,
            "out": target,
            "size": f"{pixels.shape[1]}x{pixels.shape[0]}",
            "type": pixels.dtype,
            "seconds": f"{time.perf_counter() - start:.2f}",
        }
        _log(fields, request, device)
    return 0


def _reads(args: argparse.Namespace, styles: list[StyleImage]) -> list[tuple[str, Path]]:
    """The files a render reads besides its inputs (no output may overwrite them)."""
    files = [("the style image", Path(style.label)) for style in styles]
    return files + ([("the mask", args.mask)] if args.mask is not None else [])


def _decode_styles_and_mask(
    args: argparse.Namespace, styles: list[StyleImage]
) -> np.ndarray | None:
    """Every style file decoded in full (a damaged one fails here, before any output); the
    mask's last channel, if there is one."""
    for style in styles:
        style.pixels()
    return None if args.mask is None else read(args.mask, "mask").pixels[..., -1:]


def _log(fields: dict[str, Any], request: StyleRequest, device: object) -> None:
    """The one log line of a rendered file: its fields, the request, where and how it ran."""
    fields = {
        **fields,
        **request.describe(),
        "device": device,
        "profile": determinism.active() or "none",
    }
    tqdm.write(f"{PROG}: " + " ".join(f"{k}={v}" for k, v in fields.items()), file=sys.stderr)


def _run_stylize_video(
    args: argparse.Namespace,
    values: dict[str, Any],
    request: StyleRequest,
    styles: list[StyleImage],
    device: object,
) -> int:
    from neuralstyle.video_stylize import stylize_video

    if len(args.inputs) != 1:
        raise InputError("a video is stylised on its own: give one video file")
    if args.render_scale != 1.0 or args.frame_size is not None:
        raise InputError("--render-scale is for proxies of single images, not videos")
    source = args.inputs[0]
    mask = _decode_styles_and_mask(args, styles)

    def check(size: tuple[int, int]) -> None:
        if mask is not None and mask.shape[:2] != size:
            raise InputError(
                f"the mask is {mask.shape[1]}x{mask.shape[0]} but {source} is {size[1]}x{size[0]}"
            )

    def render(frame: np.ndarray) -> np.ndarray:
        out: np.ndarray = stylize(frame, mask=mask, **values)
        return out

    stylize_video(
        source,
        args.output,
        render,
        codec=args.codec,
        read_files=[("the input", source), *_reads(args, styles)],
        check=check,
        log=lambda fields: _log(fields, request, device),
    )
    return 0


@contextlib.contextmanager
def _progress_bar(request: StyleRequest, name: str) -> Iterator[Callable[[float], None] | None]:
    """Optimisation takes minutes per image: a bar with its percentage, elapsed time and the
    time left (on a terminal only, like every bar here). The one-pass methods need none.

    The fraction counts work (each evaluation weighted by its pyramid level's pixels) and moves
    at every evaluation, so the time left is an estimate of the whole render from its first
    evaluations on, before the fine levels that cost most have started."""
    if not method_for(request.method).reports_progress:
        yield None
        return
    with tqdm(
        total=1.0,
        desc=name,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]",
        disable=None,
        file=sys.stderr,
        leave=False,
    ) as bar:

        def progress(fraction: float) -> None:
            bar.update(fraction - bar.n)

        yield progress


def _check_input(source: Path, target: Path, mask: np.ndarray | None) -> None:
    """Decode ``source`` in full and check it fits the mask and ``target``'s format."""
    pixels = as_colour(read(source).pixels)
    if mask is not None and mask.shape[:2] != pixels.shape[:2]:
        raise InputError(
            f"the mask is {mask.shape[1]}x{mask.shape[0]} but {source} is "
            f"{pixels.shape[1]}x{pixels.shape[0]}"
        )
    check_format(target, pixels.shape[2])


def _run_eval(args: argparse.Namespace) -> int:
    from neuralstyle import metrics, report
    from neuralstyle.engine.device import resolve_device  # torch: see the imports
    from neuralstyle.io.style_image import read_style_file

    if args.output is not None:
        report.check_report_path(args.output)
        read_files = [("the content", args.content), ("the style image", args.style)]
        check_no_overwrite([args.output], [*read_files, ("the result", args.result)])

    def display(path: Path) -> np.ndarray:
        image = read(path)
        return metrics.display_rgb(image.pixels, image.premultiplied)

    content, result = display(args.content), display(args.result)
    style = read_style_file(args.style)
    if content.shape != result.shape:
        raise InputError(
            f"content {args.content} is {content.shape[1]}x{content.shape[0]} but result "
            f"{args.result} is {result.shape[1]}x{result.shape[0]}"
        )
    device = str(resolve_device(args.device))
    numbers = metrics.evaluate(content, style, result, device=device)
    if args.output is not None:
        report.write_report(args.output, content, style, result, numbers)
    if args.json:
        print(json.dumps(numbers))
    else:
        print(report.format_table(numbers))
    return 0


def _output_paths(inputs: list[Path], output: Path) -> list[tuple[Path, Path]]:
    """Where each input goes: ``output`` itself, or ``output/<name>`` for a folder (several
    inputs, or an existing folder). Nothing is created here."""
    if len(inputs) == 1 and not output.is_dir():
        return [(inputs[0], output)]
    names = [p.name for p in inputs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"several inputs are named {', '.join(duplicates)}; -o is one folder")
    return [(p, output / p.name) for p in inputs]


def _run_styles(args: argparse.Namespace) -> int:
    rows = styles()
    width = max(len(s.name) for s in rows)
    for s in rows:
        print(f"{s.index:>2}  {s.name:<{width}}  {s.description}")
    return 0


def _run_sheet(args: argparse.Namespace) -> int:
    from neuralstyle.engine.device import resolve_device  # torch: see the imports
    from neuralstyle.sheet import render_sheet

    check_no_overwrite([args.output], [("the input", args.input)])
    device = resolve_device(args.device)
    image = read(args.input)
    pixels = as_colour(image.pixels)
    display = convert(pixels, "uint8", premultiplied=image.premultiplied, to_premultiplied=False)
    determinism.ensure()
    sheet = render_sheet(
        np.ascontiguousarray(display[..., :3]),
        columns=args.columns,
        tile=args.tile,
        progress=True,
        device=device,
    )
    write_image(args.output, sheet)
    print(f"{PROG}: in={args.input} out={args.output} device={device}", file=sys.stderr)
    return 0
