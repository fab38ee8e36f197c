"""Every parameter of the node, once: the single source of truth.

The plugin's describe code and its value reader are generated from :data:`PARAMETERS` at build time
(:mod:`neuralstyle.params.plugin_header`); the engine's request takes its names, defaults, ranges
and choices from here (:mod:`neuralstyle.engine.request`); so do the command-line options
(:mod:`neuralstyle.params.options`), the farm's keyframe rules (:mod:`neuralstyle.farm.keyframes`)
and the parameter tables of README.md and docs/contract.md (:mod:`neuralstyle.params.docs`, a test
keeps them current). How to add one: CONTRIBUTING.md, "Adding a parameter".

The order is the node's: hosts show parameters in the order they were defined.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = [
    "ALL_METHODS",
    "METHOD_OPTIONS",
    "PARAMETERS",
    "PROCESS_OPTIONS",
    "STYLE_OPTIONS",
    "TEMPORAL_OPTIONS",
    "Option",
    "Param",
    "by_name",
    "choice_values",
    "engine_params",
    "node_params",
]

#: What a parameter is: a number, a menu, a built-in style menu (its options are the styles of
#: models/styles.json, filled in by the generators), or a file path.
Kind = Literal["double", "integer", "choice", "style", "file"]
#: Who reads the value: the engine (it is in the contract's ``params`` dict) or the plugin alone.
Reader = Literal["engine", "plugin"]

#: The style-transfer methods (the values of ``method``).
ALL_METHODS = ("builtin", "adain", "optimize", "fast", "trained")
_IMAGE_METHODS = ("adain", "optimize", "fast")


@dataclass(frozen=True)
class Option:
    """One entry of a menu: hosts save its position, the engine gets ``value``."""

    value: str
    label: str


@dataclass(frozen=True)
class Param:
    """One parameter of the node.

    Attributes:
        name: the engine's key (the contract's ``params`` dict, the API's keyword).
        script_name: the OpenFX name hosts save in projects: never rename it.
        label: what the node shows.
        kind: see :data:`Kind`.
        default: the value a new node has (a choice: an option's value; a style menu: its
            position, ``""`` for "None"; ``None``: not set, only for options outside the node).
        hint: the node's tooltip; the documentation's description.
        methods: the methods that read it (the node ignores the others' parameters).
        hard: the range the engine accepts (numbers).
        slider: the range the node's slider shows (numbers; default ``hard``).
        animates: the host keys it; the farm's command line then takes ``FRAME:VALUE`` keys.
        options: a choice's menu.
        none_option: a style menu's first entry, meaning "no style" (value ``""``).
        flag: its command-line option (``None``: the command line spells it otherwise).
        cli_help: the option's short help.
        group: where the command line and the docs list it.
        reader: who reads the value (``"plugin"``: the engine never sees it).
        node: the node has it (``False``: an option of the API and the command line only).
        keyed: how the farm's command line takes ``FRAME:VALUE`` keys for it (``"linear"``: the
            node's interpolation; ``"step"``: the last key holds); ``None``: constant over a shot.
        increment, digits: the slider's step and shown digits (doubles).
    """

    name: str
    script_name: str
    label: str
    kind: Kind
    default: float | int | str | None
    hint: str
    methods: tuple[str, ...] = ALL_METHODS
    hard: tuple[float, float] | None = None
    slider: tuple[float, float] | None = None
    animates: bool = False
    options: tuple[Option, ...] = ()
    none_option: str | None = None
    flag: str | None = None
    cli_help: str = ""
    group: Literal["style", "method", "temporal", "process", "node"] = "style"
    reader: Reader = "engine"
    node: bool = True
    keyed: Literal["linear", "step"] | None = None
    increment: float | None = None
    digits: int | None = None

    @property
    def values(self) -> tuple[str, ...]:
        """A choice's option values, in menu order."""
        return tuple(o.value for o in self.options)

    @property
    def slider_range(self) -> tuple[float, float] | None:
        return self.slider or self.hard


def _unit(name: str, script: str, label: str, default: float, hint: str, **kw: object) -> Param:
    return Param(
        name, script, label, "double", default, hint, hard=(0.0, 1.0), animates=True,
        keyed="linear", increment=0.01, digits=3, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


PARAMETERS: tuple[Param, ...] = (
    Param(
        "method", "method", "Method", "choice", "builtin",
        "Built-in styles: 26 styles, fast. Any image: fast: any Style file in one pass (Ghiasi "
        "et al. 2017, trained by Magenta). Any image: best (optimisation): Gatys et al., slow "
        "(minutes per frame), reports progress. Any image: AdaIN (legacy): the older one-pass "
        "network, soft and blotchy; kept so that comps using it render as before. Trained "
        "network: a style trained for one painting by `neuralstyle train` (the Style file is its "
        ".safetensors), as fast as the built-in styles.",
        # Hosts save the position: new methods go last, whatever the menu's reading order.
        options=(
            Option("builtin", "Built-in styles"),
            Option("adain", "Any image: AdaIN (legacy)"),
            Option("optimize", "Any image: best (optimisation)"),
            Option("fast", "Any image: fast"),
            Option("trained", "Trained network"),
        ),
        flag="--method", cli_help="default: builtin for a style name, fast for a file",
        group="method",
    ),
    Param(
        "style", "style", "Style", "style", 0,
        "The built-in style to paint the Source in.",
        methods=("builtin",), keyed="step", flag="--style",
        cli_help="built-in name or index, or a style image (default: the first style)",
    ),
    Param(
        "second_style", "secondStyle", "Second style", "style", "",
        "A second built-in style mixed with the first by Style blend (the networks mix, not the "
        "pixels). None: the first style alone.",
        methods=("builtin",), none_option="None", keyed="step", flag="--second-style",
        cli_help="a style to blend towards (or, with --mask-mode styles, outside the mask)",
    ),
    _unit(
        "style_blend", "styleBlend", "Style blend", 0.5,
        "Weight of the second style: 0 is the first style alone, 1 the second alone.",
        flag="--style-blend", cli_help="weight of --second-style, 0 to 1 (default 0.5)",
    ),
    _unit(
        "strength", "strength", "Strength", 1.0,
        "How much of the stylised image replaces the Source: 0 returns the Source unchanged, 1 "
        "the full style.",
        flag="--strength", cli_help="0 (the source, bit-exactly) to 1 (default)",
    ),
    Param(
        "style_file", "styleFile", "Style file", "file", "",
        "Any image as the style (the Any image methods): a painting, a photograph, a texture. "
        "PNG, JPEG, TIFF, EXR... With Trained network: the .safetensors file `neuralstyle train` "
        "wrote.",
        methods=(*_IMAGE_METHODS, "trained"),
    ),
    Param(
        "second_style_file", "secondStyleFile", "Second style file", "file", "",
        "A second style image, mixed in by Style blend (statistics or Gram matrices are mixed, "
        "not pixels), or painted outside the mask when the Mask chooses the style. Empty: none.",
        methods=_IMAGE_METHODS,
    ),
    Param(
        "mask_mode", "maskMode", "Mask mode", "choice", "strength",
        "What the Mask clip does. Limits the effect: 0 keeps the Source, soft values blend. "
        "Chooses the style: 1 paints with the style, 0 with the second style.",
        options=(
            Option("strength", "Limits the effect"),
            Option("styles", "Chooses the style (inside: Style, outside: Second)"),
        ),
        flag="--mask-mode",
        cli_help="strength (default): the mask limits the effect; styles: 1 --style, "
        "0 --second-style",
        group="method",
    ),
    Param(
        "preserve_colour", "preserveColour", "Preserve colour", "choice", "none",
        "Keep the Source's colours and take only the style's texture. Luminance only: stylise "
        "the brightness. Match colour histogram: recolour the style image to the Source's "
        "palette first (not for built-in styles).",
        options=(
            Option("none", "None"),
            Option("luminance", "Luminance only"),
            Option("histogram", "Match colour histogram"),
        ),
        flag="--preserve-colour", cli_help="default none", group="method",
    ),
    Param(
        "stroke_scale", "strokeScale", "Stroke scale", "double", 1.0,
        "Size of the brush strokes on the full-resolution frame, relative to the style's own "
        "(2: twice as large). Proxy renders keep it.",
        hard=(0.1, 10.0), slider=(0.1, 4.0), animates=True, keyed="linear",
        flag="--stroke-scale", cli_help="stroke size, 0.1 to 10 (default 1)",
    ),
    Param(
        "quality", "quality", "Quality", "choice", "standard",
        "Optimisation only: how long each frame is optimised (Draft 60, Standard 200, High 500 "
        "steps per pyramid level). Large frames take minutes.",
        methods=("optimize",),
        options=(Option("draft", "Draft"), Option("standard", "Standard"), Option("high", "High")),
        flag="--optimize-quality", cli_help="optimize: draft, standard (default) or high",
        group="method",
    ),
    Param(
        "seed", "seed", "Seed", "integer", 0,
        "Optimisation only: the seed of the noise start image. The same seed gives the same "
        "frame on every render node.",
        methods=("optimize",), hard=(0, 2**63 - 1),
        flag="--seed", cli_help="optimize: noise seed (default 0)", group="method",
    ),
    Param(
        "init", "init", "Start from", "choice", "content",
        "Optimisation only: start from the Source (keeps its structure best) or from noise "
        "(seeded).",
        methods=("optimize",), options=(Option("content", "Source"), Option("noise", "Noise")),
        flag="--init", cli_help="optimize: start image (default content)", group="method",
    ),
    Param(
        "style_weight", "styleWeight", "Style weight", "double", 30.0,
        "Optimisation only: weight of the style against the content; higher is more stylised.",
        methods=("optimize",), hard=(0.0, 1e6), slider=(0.0, 300.0), animates=True,
        flag="--style-weight", cli_help="optimize: style loss weight (default 30)",
        group="method",
    ),
    Param(
        "working_resolution", "workingResolution", "Working resolution", "double", 1.0,
        "Optimisation only: the fraction of the frame's resolution it runs at (0.5: a quarter of "
        "the pixels, about 4x faster), then scaled up; strokes keep their size on the frame. For "
        "trying a style on a plate before the full render.",
        methods=("optimize",), hard=(0.05, 1.0), slider=(0.1, 1.0), increment=0.05, digits=2,
        flag="--working-resolution",
        cli_help="optimize: fraction of the frame's resolution to run at (default 1)",
        group="method",
    ),
    Param(
        "steps", "steps", "Steps", "integer", None,
        "Optimisation only: evaluations per pyramid level (default: the Quality preset's).",
        methods=("optimize",), hard=(1, 100_000), node=False,
        flag="--steps", cli_help="optimize: evaluations per pyramid level", group="method",
    ),
    Param(
        "temporal_stability", "temporalStability", "Temporal stability", "choice", "off",
        "Steadies a moving shot: the stylisations of the frames either side, warped into this "
        "frame by the Source's optical flow, are combined with its own, so strokes stop boiling. "
        "Any frame still renders alone, on any machine, to the same bits. With Any image: best, "
        "each frame's optimisation also starts from the frame before it (steadier, same time). "
        "Needs a host that "
        "gives effects other frames (OpenFX temporal clip access: Natron, Nuke, Resolve); "
        "MLT, Kdenlive and Shotcut do not, and there it stays off.",
        options=(Option("off", "Off"), Option("on", "On")),
        group="temporal", reader="plugin",
    ),
    Param(
        "temporal_frames", "temporalFrames", "Frames either side", "integer", 2,
        "With Temporal stability: how many frames before and after this one steady it. More is "
        "steadier and slower (each frame of the shot is stylised once when the host renders in "
        "order; the window's frames are kept in memory: NEURALSTYLE_FRAME_CACHE_MB).",
        hard=(1, 8), group="temporal", reader="plugin",
    ),
    Param(
        "temporal", "temporal", "Temporal stability", "integer", 0,
        "Frames either side whose stylisations, warped into this frame by the plate's optical "
        "flow, steady it (0: off). Any frame still renders alone, in any chunk, to the same bits.",
        hard=(0, 8), node=False, flag="--temporal",
        cli_help="frames either side that steady each frame (0: off, the default; try 2)",
        group="temporal",
    ),
    Param(
        "temporal_amount", "temporalAmount", "Stability amount", "double", 1.0,
        "With Temporal stability: how much of the steadied picture replaces the frame's own "
        "stylisation (0: none; 1: the method's full share, 0.7 of it for Any image: fast, "
        "whose frames are steadier on their own).",
        hard=(0.0, 1.0), animates=True, keyed="linear", increment=0.01, digits=3,
        reader="plugin", flag="--temporal-amount",
        cli_help="with --temporal: 0 to 1 (default 1)", group="temporal",
    ),
    Param(
        "device", "device", "Device", "choice", "auto",
        "Where the network runs. Auto: the GPU when there is one, else the CPU.",
        options=(Option("auto", "Auto"), Option("cpu", "CPU"), Option("cuda", "CUDA")),
        flag="--device", cli_help="default: auto", group="process",
    ),
    Param(
        "failed_frame", "failedFrame", "Failed frame shows", "choice", "source",
        "What the Output holds when a frame fails (a missing style file, bad pixels, out of "
        "memory), for hosts that ignore the failure and show it (MLT, Kdenlive, Shotcut): the "
        "Source unchanged (what MLT showed before this setting), transparent black, or an "
        "opaque magenta that no review misses. The node reports the error either way.",
        options=(
            Option("source", "Source"),
            Option("black", "Transparent black"),
            Option("error", "Error colour (magenta)"),
        ),
        group="node", reader="plugin",
    ),
)  # fmt: skip


#: The command-line options of each group, in table order.
STYLE_OPTIONS = tuple(p.name for p in PARAMETERS if p.flag and p.group == "style")
METHOD_OPTIONS = tuple(p.name for p in PARAMETERS if p.flag and p.group == "method")
PROCESS_OPTIONS = tuple(p.name for p in PARAMETERS if p.flag and p.group == "process")
TEMPORAL_OPTIONS = tuple(p.name for p in PARAMETERS if p.flag and p.group == "temporal")


@functools.cache
def by_name() -> Mapping[str, Param]:
    """The table by engine name (read-only; built once: the request asks it on every render)."""
    return MappingProxyType({p.name: p for p in PARAMETERS})


def node_params() -> tuple[Param, ...]:
    """The node's parameters, in the order hosts show them."""
    return tuple(p for p in PARAMETERS if p.node)


def engine_params() -> tuple[Param, ...]:
    """The parameters in the contract's ``params`` dict (docs/contract.md), in table order."""
    return tuple(p for p in PARAMETERS if p.node and p.reader == "engine")


def choice_values(name: str) -> tuple[str, ...]:
    """The option values of the choice parameter ``name``."""
    return by_name()[name].values


def _check(params: tuple[Param, ...]) -> None:
    """The table's own invariants (run by the tests and the generator)."""
    names = [p.name for p in params]
    scripts = [p.script_name for p in params]
    if len(set(names)) != len(names) or len(set(scripts)) != len(scripts):
        raise ValueError("parameter names and script names must be unique")
    for p in params:
        if p.kind == "choice" and p.default not in p.values:
            raise ValueError(f"{p.name}: default {p.default!r} is not an option")
        if p.default is None and p.node:
            raise ValueError(f"{p.name}: a node parameter needs a default")
        if p.kind in ("double", "integer") and p.default is not None:
            if p.hard is None or not isinstance(p.default, (int, float)):
                raise ValueError(f"{p.name}: a number needs a range and a numeric default")
            low, high = p.hard
            if not (math.isfinite(low) and math.isfinite(high) and low <= p.default <= high):
                raise ValueError(f"{p.name}: default {p.default} outside {p.hard}")
        if p.keyed == "linear" and not (p.animates and p.kind == "double"):
            raise ValueError(f"{p.name}: only an animated double interpolates keys")
        if not set(p.methods) <= set(ALL_METHODS):
            raise ValueError(f"{p.name}: unknown method in {p.methods}")
