"""The plugin's parameter table as C++ (``generated/params_table.h``), written from
:data:`neuralstyle.params.table.PARAMETERS` and ``models/styles.json`` by CMake at build time.

    python -m neuralstyle.params.plugin_header OUT.h

The plugin describes and reads its parameters by walking that table (plugin/src/describe.cpp,
params.cpp), so it keeps no copy of a name, label, default, range or menu. The file is rewritten
only when its text changes, so an unchanged table rebuilds nothing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from neuralstyle.params.table import Option, Param, _check, node_params
from neuralstyle.temporal import WARM_SEGMENT

__all__ = ["header_text", "main"]

_STYLES_JSON = Path(__file__).resolve().parent.parent / "models" / "styles.json"
_INT_MAX = 2**31 - 1  # an OpenFX integer parameter is a C int
_KINDS = {
    "double": "kDouble",
    "integer": "kInteger",
    "choice": "kChoice",
    "style": "kChoice",
    "file": "kFilePath",
}


def _c(text: str) -> str:
    """``text`` as a C++ string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    if not escaped.isascii():
        raise ValueError(f"parameter text must be ASCII: {text!r}")
    return f'"{escaped}"'


def _styles(path: Path) -> list[tuple[str, str]]:
    entries = json.loads(path.read_text("utf-8"))["styles"]
    if [int(s["index"]) for s in entries] != list(range(len(entries))):
        raise ValueError(f"{path}: styles must be listed in index order 0, 1, 2, ...")
    return [(s["name"], s["description"]) for s in entries]


def _menu(p: Param, styles: list[tuple[str, str]]) -> tuple[tuple[Option, ...], int, str]:
    """A menu's options, its default position and the hint (a style menu lists the styles)."""
    if p.kind == "choice":
        return p.options, p.values.index(str(p.default)), p.hint
    options = tuple(Option(name, name) for name, _ in styles)
    hint = p.hint
    if p.none_option is None:
        hint += "".join(f"\n{name}: {description}" for name, description in styles)
    else:
        options = (Option("", p.none_option), *options)
    assert isinstance(p.default, (int, str)), p.name  # a position, or "" for the None entry
    default = 0 if p.default == "" else int(p.default) + (p.none_option is not None)
    return options, default, hint


def _id(p: Param) -> str:
    return "kParam" + p.script_name[0].upper() + p.script_name[1:]


def header_text(params: Sequence[Param] | None = None, styles_json: Path = _STYLES_JSON) -> str:
    """The header for ``params`` (default: the node's)."""
    params = node_params() if params is None else tuple(params)
    _check(params)
    styles = _styles(styles_json)
    menus: list[str] = []
    specs: list[str] = []
    for p in params:
        options_name, count, default, hint = "nullptr", 0, float(0), p.hint
        low = high = shown_low = shown_high = 0.0
        if p.kind in ("choice", "style"):
            options, position, hint = _menu(p, styles)
            options_name, count, default = f"{_id(p)}Options", len(options), float(position)
            rows = ",\n".join(f"    {{{_c(o.label)}, {_c(o.value)}}}" for o in options)
            menus.append(f"inline constexpr ChoiceOption {options_name}[] = {{\n{rows}}};\n")
        elif p.kind in ("double", "integer"):
            assert p.hard is not None and p.slider_range is not None
            assert isinstance(p.default, (int, float)), p.name
            default = float(p.default)
            low, high = p.hard
            shown_low, shown_high = p.slider_range
            if p.kind == "integer":
                high, shown_high = min(high, _INT_MAX), min(shown_high, _INT_MAX)
        fields = [
            _c(p.script_name),
            _c(p.name) if p.reader == "engine" else "nullptr",
            _c(p.label),
            _c(hint),
            f"ParamKind::{_KINDS[p.kind]}",
            "true" if p.animates else "false",
            repr(default),
            repr(float(low)),
            repr(float(high)),
            repr(float(shown_low)),
            repr(float(shown_high)),
            repr(float(p.increment or 0.0)),
            str(p.digits or 0),
            options_name,
            str(count),
        ]
        specs.append("    {" + ",\n     ".join(fields) + "}")
    ids = "".join(f"  {_id(p)} = {i},\n" for i, p in enumerate(params))
    return (
        "// Generated from python/neuralstyle/params/table.py and models/styles.json by\n"
        "// `python -m neuralstyle.params.plugin_header`. Do not edit.\n"
        "#ifndef NEURALSTYLE_PARAMS_TABLE_H\n"
        "#define NEURALSTYLE_PARAMS_TABLE_H\n\n"
        '#include "param_spec.h"\n\n'
        "namespace neuralstyle {\n\n" + "\n".join(menus) + "\n"
        "// In the order hosts show them.\n"
        "inline constexpr ParamSpec kParams[] = {\n" + ",\n".join(specs) + "};\n\n"
        "inline constexpr int kParamCount = static_cast<int>(sizeof(kParams) / "
        "sizeof(kParams[0]));\n\n"
        "// Positions in kParams, for the code that reads one parameter itself.\n"
        "enum ParamId : int {\n" + ids + "};\n\n"
        "// Optimisation warm starts run in segments of this many frames, aligned to frame\n"
        "// numbers (neuralstyle.temporal.WARM_SEGMENT): the frames a temporal render reads.\n"
        f"inline constexpr int kWarmSegment = {WARM_SEGMENT};\n\n"
        "}  // namespace neuralstyle\n\n"
        "#endif\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m neuralstyle.params.plugin_header OUT.h", file=sys.stderr)
        return 2
    out = Path(args[0])
    text = header_text()
    if not out.exists() or out.read_text("utf-8") != text:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, "utf-8")
        tmp.replace(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
