"""``neuralstyle render``: image sequences (or a whole shot into one video file) through the node's
engine, for render farms.

    neuralstyle render plate.####.exr -o styled.####.exr --frames 1001-1100 [--chunk 1001-1010]
        [--style NAME|FILE|F:NAME,...] [--strength S|F:S,...] [--stroke-scale X|F:X,...]
        [--keys params.yaml] [--mask m.####.exr] [--method builtin|adain|optimize]
        [--mask-mode M] [--preserve-colour C] [--seed N --init I --optimize-quality Q
        --style-weight W --steps N]
        [--ocio CONFIG --in-cs ACEScg [--working-cs lin_rec709] [--out-cs ACEScg]]
        [--depth half|float|8|10|12|16] [--compression zip|piz|dwaa:45|...] [--quality 95]
        [--skip-existing] [--verify] [--profile strict|fast] [--device auto|cpu|cuda]
        [--gpu N] [--threads N] [--cache-dir DIR] [--log-format text|json]
        [--workers N | --scheduler tcp://HOST:PORT] [--chunk-size N] [--retries N] [--timeout S]
    neuralstyle render plate.####.exr|clip.mp4 -o styled.mp4|styled.mov [--codec h264|prores]
        [--rate 24|23.976|24000/1001] [...]   (the whole shot, in this process)

Farm behaviour: never prompts and never reads stdin; frames are written atomically (a video file
appears only whole: it is one file from one process, so chunks, Dask and skipping are refused);
one log line per frame on stderr (a progress bar only on a terminal); exit status 0 only when
every frame was written (and verified), else 2 usage or input, 3 model, 4 image I/O, 75
retryable (device, out of memory, timeout, dead worker). An empty value of an optional option
means "not given" (job templates cannot leave arguments out).

The lead registers it in :mod:`neuralstyle.cli` with :func:`add_render_parser`;
``python -m neuralstyle.farm render ...`` runs it on its own (the farm templates use that).
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import yaml

from neuralstyle.command import PROG, CommandParser, add_codec_option, run_command
from neuralstyle.errors import InputError
from neuralstyle.farm import environment
from neuralstyle.farm.colour_stage import ColourSettings, ColourStage
from neuralstyle.farm.frame_ranges import format_frames, parse_frames, restrict
from neuralstyle.farm.frame_renderer import FrameRenderer, FrameResult, render_frames
from neuralstyle.farm.frame_source import FrameSource, VideoSource, open_source
from neuralstyle.farm.job import RenderJob
from neuralstyle.farm.keyframes import Keyframes
from neuralstyle.farm.log import FrameLog
from neuralstyle.farm.preflight import preflight, video_refusal
from neuralstyle.farm.templates import expand_extra_args
from neuralstyle.io.plates import WriteOptions
from neuralstyle.io.video import frame_rate, is_video
from neuralstyle.params.checks import hard_range
from neuralstyle.params.options import add_param_options, given
from neuralstyle.params.table import (
    METHOD_OPTIONS,
    PROCESS_OPTIONS,
    STYLE_OPTIONS,
    TEMPORAL_OPTIONS,
    by_name,
)

__all__ = ["add_render_parser", "main", "run"]

_EPILOG = "exit status: 0 ok, 2 usage or input, 3 model, 4 image I/O, 75 retryable"
_DEFAULT_RATE = Fraction(24)  # a video made from an image sequence (the film and VFX rate)


#: The temporal options: K is constant over a shot (it sets the frames each frame reads); the
#: amount is keyed like strength, as the node animates it.
_KEYED_TEMPORAL = tuple(name for name in TEMPORAL_OPTIONS if by_name()[name].keyed)
_CONSTANT_TEMPORAL = tuple(name for name in TEMPORAL_OPTIONS if name not in _KEYED_TEMPORAL)


def add_render_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``render`` command to ``commands`` (an ``add_subparsers()`` result)."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "render",
        help="render an image sequence (farm: frame ranges, chunks, OCIO, Dask) or a video",
        description="Stylise an image sequence or a video as the node would, frame by frame.",
        epilog=_EPILOG,
    )
    add = parser.add_argument
    add(
        "input",
        metavar="IN",
        help="plate.####.exr, plate.%%04d.exr, plate.@@@@.exr, a still or a video (clip.mp4)",
    )
    add(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="the output sequence, or a video file (.mp4, .mov, .mkv, .m4v: the whole shot)",
    )
    add("--frames", metavar="RANGE", help="1001-1100, 1-10x2, 1,5,10-20 (default: IN on disk)")
    add("--chunk", metavar="RANGE", help="render only these frames of --frames (a farm task)")

    node = parser.add_argument_group("node parameters (a value, or keys FRAME:VALUE,...)")
    add_param_options(node, STYLE_OPTIONS, keys=True, blank_is_unset=True)
    node.add_argument("--keys", metavar="FILE", help="JSON/YAML: strength: {1001: 0, 1050: 1}")
    node.add_argument("--mask", metavar="SEQ", help="mask sequence; its last channel")

    method = parser.add_argument_group("method (constant over the shot)")
    add_param_options(method, METHOD_OPTIONS, blank_is_unset=True)

    temporal = parser.add_argument_group(
        "temporal stability (K constant over the shot; the amount a value or keys)"
    )
    add_param_options(temporal, _CONSTANT_TEMPORAL, blank_is_unset=True)
    add_param_options(temporal, _KEYED_TEMPORAL, keys=True, blank_is_unset=True)

    colour = parser.add_argument_group("colour (OpenColorIO)")
    colour.add_argument("--ocio", metavar="CONFIG", help="file or ocio://default (default $OCIO)")
    colour.add_argument("--in-cs", metavar="NAME", help="the plate's colour space")
    colour.add_argument("--working-cs", metavar="NAME", help="default lin_rec709")
    colour.add_argument("--out-cs", metavar="NAME", help="default: --in-cs")

    files = parser.add_argument_group("output files")
    files.add_argument(
        "--depth", default="auto", metavar="D", help="half|float|8|10|12|16 (default auto)"
    )
    files.add_argument(
        "--compression", default="zip", metavar="C", help="EXR: zip, piz, dwaa:45, ..."
    )
    files.add_argument(
        "--quality", type=int, default=95, metavar="Q", help="JPEG quality (default 95)"
    )
    add_codec_option(files)
    files.add_argument(
        "--rate",
        metavar="FPS",
        help="a video output's frames per second: 24, 23.976, 24000/1001 "
        "(default: the input video's, else 24)",
    )
    files.add_argument(
        "--skip-existing",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="keep frames already there (with --verify: those that read back whole)",
    )
    files.add_argument(
        "--verify",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="read every written frame back and compare (a video: all of it, before it is named)",
    )

    run_group = parser.add_argument_group("process")
    run_group.add_argument("--profile", choices=("strict", "fast"), default="strict")
    add_param_options(run_group, PROCESS_OPTIONS)
    run_group.add_argument("--gpu", type=int, metavar="N", help="the N-th visible GPU")
    run_group.add_argument("--threads", type=int, metavar="N", help="CPU threads (or CUE_THREADS)")
    run_group.add_argument("--cache-dir", metavar="DIR", help="weights cache ($NEURALSTYLE_CACHE)")
    run_group.add_argument("--log-format", choices=("text", "json"), default="text")

    dist = parser.add_argument_group("distributed (Dask)")
    dist.add_argument("--workers", type=int, default=0, metavar="N", help="start N workers")
    dist.add_argument("--scheduler", metavar="ADDR", help="use a running scheduler")
    dist.add_argument("--cluster", choices=("local", "slurm", "pbs"), default="local")
    dist.add_argument(
        "--cluster-option", action="append", default=[], metavar="KEY=VALUE", help="jobqueue"
    )
    dist.add_argument("--worker-gpus", metavar="LIST", help="CUDA_VISIBLE_DEVICES per worker")
    dist.add_argument("--task-resources", metavar="R=N,...", help="e.g. GPU=1")
    dist.add_argument("--chunk-size", type=int, default=1, metavar="N", help="frames per task")
    dist.add_argument("--retries", type=int, default=2, metavar="N", help="per task (default 2)")
    dist.add_argument("--timeout", type=float, metavar="S", help="seconds per task")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``render`` command line; return the exit status (errors raise)."""
    _blank_to_none(args)
    _exit_on_sigterm()
    # First, before anything imports torch: the GPU and thread choice of this process.
    changes = environment.prepare(
        gpu=args.gpu, threads=args.threads, profile=args.profile, cache_dir=args.cache_dir
    )
    job, frames = _job(args)
    distributed = args.workers > 0 or args.scheduler is not None
    if args.cluster != "local" and args.scheduler is not None:
        raise InputError("--cluster and --scheduler exclude each other")
    if is_video(job.output):
        _check_video_options(args)
    start = time.perf_counter()

    stage = preflight(job, frames)
    with FrameLog(len(frames), args.log_format) as log:
        log.line(
            {
                "event": "start",
                "frames": format_frames(frames),
                "profile": args.profile,
                "mode": "dask" if distributed else "local",
                **_video_fields(job),
                **{k.lower(): v for k, v in changes.items() if k != "CUDA_DEVICE_ORDER"},
            }
        )
        if distributed:
            results = _run_dask(args, job, frames, log)
        else:
            results = _run_local(job, frames, stage, log)
        rendered = sum(r.status == "done" for r in results)
        log.line(
            {
                "event": "end",
                "frames": len(frames),
                "rendered": rendered,
                "skipped": len(results) - rendered,
                "seconds": round(time.perf_counter() - start, 3),
            }
        )
    return 0


def _exit_on_sigterm() -> None:
    """A farm stops a task with SIGTERM: unwind (close the cluster, remove temporary files) and
    exit 143 instead of dying mid-write."""
    if threading.current_thread() is not threading.main_thread():
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


# Options where an empty value means "not given": job templates cannot leave an argument out.
# (The node parameters' options say so themselves: neuralstyle.params.options.)
_OPTIONAL = (
    "frames", "chunk", "keys", "mask", "ocio", "in_cs", "working_cs", "out_cs", "cache_dir",
    "scheduler", "rate",
)  # fmt: skip


def _check_video_options(args: argparse.Namespace) -> None:
    """A video output is one file from this process: no chunk, no Dask, nothing to skip (the
    preflight checks the job as well; these options are only known here)."""
    given = {
        "--chunk": args.chunk is not None,
        "--workers": args.workers > 0,
        "--scheduler": args.scheduler is not None,
        "--cluster": args.cluster != "local",
        "--skip-existing": args.skip_existing,
    }
    for option, present in given.items():
        if present:
            raise video_refusal(option, args.output)


def _video_fields(job: RenderJob) -> dict[str, object]:
    """The start line's account of a video output (none for a sequence)."""
    if not is_video(job.output):
        return {}
    return {"out": job.output, "codec": job.codec, "rate": job.rate}


def _blank_to_none(args: argparse.Namespace) -> None:
    for name in _OPTIONAL:
        value = getattr(args, name, None)
        if isinstance(value, str) and not value.strip():
            setattr(args, name, None)


def _job(args: argparse.Namespace) -> tuple[RenderJob, list[int]]:
    source = open_source(args.input)
    if args.frames is not None:
        shot = parse_frames(args.frames)
    else:
        shot = source.available()
        if not shot:
            raise InputError(f"no frames of {args.input} found; give --frames")
    frames = shot if args.chunk is None else restrict(shot, parse_frames(args.chunk))
    keyframes = Keyframes.from_sources(args.keys, given(args, (*STYLE_OPTIONS, *_KEYED_TEMPORAL)))
    method = given(args, METHOD_OPTIONS)

    job = RenderJob(
        input=args.input,
        output=args.output,
        frames=tuple(shot),
        keyframes=keyframes,
        colour=ColourSettings(args.ocio, args.in_cs, args.working_cs, args.out_cs),
        write=WriteOptions(args.depth, args.compression, args.quality),
        mask=args.mask,
        keys=args.keys,
        device=args.param_device,
        skip_existing=args.skip_existing,
        verify=args.verify,
        method=method.pop("method", None),
        controls=method,
        temporal=_temporal(given(args, TEMPORAL_OPTIONS)),
        **_video(args, source),
    )
    return job, frames


def _video(args: argparse.Namespace, source: FrameSource) -> dict[str, Any]:
    """A video output's rate and codec: ``--rate``, else the input video's, else 24."""
    if not is_video(args.output):
        if args.codec is not None or args.rate is not None:
            raise InputError("--codec and --rate are for video outputs (out.mp4, out.mov)")
        return {}
    if args.rate is not None:
        rate = frame_rate(args.rate)
    elif isinstance(source, VideoSource):
        rate = source.reader.rate
    else:
        rate = _DEFAULT_RATE
    return {"rate": rate, "codec": args.codec or "h264"}


def _temporal(values: dict[str, Any]) -> int:
    """``--temporal``, checked against the table (``--temporal-amount`` is keyed: Keyframes)."""
    low, high = hard_range("temporal")
    radius = int(values.get("temporal", 0))
    if not low <= radius <= high:
        raise InputError(f"--temporal must be from {low:g} to {high:g}, got {radius}")
    if "temporal_amount" in values and not radius:
        raise InputError("--temporal-amount needs --temporal")
    return radius


def _run_local(
    job: RenderJob, frames: list[int], stage: ColourStage | None, log: FrameLog
) -> list[FrameResult]:
    return render_frames(
        FrameRenderer(job, stage),
        frames,
        on_frame=lambda result: log.frame(result.fields()),
        on_failure=log.failed,
    )


def _run_dask(
    args: argparse.Namespace, job: RenderJob, frames: list[int], log: FrameLog
) -> list[FrameResult]:
    # Dask is the optional `farm` extra (distributed alone takes 0.28 s to import): only
    # --workers and --scheduler load it.
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise InputError(
            "--workers and --scheduler need Dask: pip install 'neuralstyle[farm]'"
        ) from None
    from neuralstyle.farm.dask_backend import ClusterSettings, render_distributed
    from neuralstyle.farm.task_process import ProcessSettings

    if args.retries < 0:
        raise InputError(f"--retries must be 0 or more, got {args.retries}")
    if args.timeout is not None and args.timeout <= 0:
        raise InputError(f"--timeout must be positive, got {args.timeout:g}")
    gpus = tuple(g.strip() for g in (args.worker_gpus or "").split(",") if g.strip())
    if args.param_device == "cuda" and not gpus and args.scheduler is None:
        visible = environment.visible_gpus()
        gpus = tuple(visible) if visible else tuple(str(i) for i in range(args.workers))
    settings = ClusterSettings(
        scheduler=args.scheduler,
        workers=args.workers or 1,
        cluster=args.cluster,
        cluster_options=_key_values(args.cluster_option, "--cluster-option"),
        worker_gpus=gpus,
        task_resources={
            k: float(v)
            for k, v in _key_values(
                (args.task_resources or "").split(",") if args.task_resources else [],
                "--task-resources",
            ).items()
        },
        chunk_size=args.chunk_size,
        retries=args.retries,
        timeout=args.timeout,
    )
    process = ProcessSettings(args.profile, args.threads, None, args.cache_dir)
    results: list[Any] = render_distributed(job, frames, settings, process, log)
    return results


def _key_values(items: Sequence[str], flag: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"{flag}: expected KEY=VALUE, got {item!r}")
        out[key.strip()] = yaml.safe_load(value) if value.strip() else ""
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m neuralstyle.farm render ...``: the command outside :mod:`neuralstyle.cli`.

    The job templates run it; it also takes their ``--extra-args TEXT`` (further options in one
    argument, :func:`neuralstyle.farm.templates.expand_extra_args`).
    """
    parser = CommandParser(prog=PROG, epilog=_EPILOG)
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    add_render_parser(commands)
    return run_command(parser, argv, prepare=expand_extra_args)
