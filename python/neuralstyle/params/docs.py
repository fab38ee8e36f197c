"""The parameter tables of README.md, docs/contract.md and docs/farm.md, written from the table.

    python -m neuralstyle.params.docs           # rewrite the tables
    python -m neuralstyle.params.docs --check   # exit 1 when a table is out of date

Each table sits between ``<!-- params:NAME -->`` and ``<!-- /params:NAME -->``; the text around
it is hand-written. tests/test_params.py fails when a table is out of date.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from neuralstyle.params.table import ALL_METHODS, PARAMETERS, Param, engine_params, node_params

__all__ = ["TABLES", "main", "render", "stale"]

_ROOT = Path(__file__).resolve().parents[3]


def _methods(p: Param) -> str:
    return "all" if p.methods == ALL_METHODS else ", ".join(p.methods)


def _number(value: float) -> str:
    if abs(value) >= 2**62:
        return f"2**{round(value).bit_length()} - 1"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _default(p: Param) -> str:
    if p.kind == "choice":
        return next(o.label for o in p.options if o.value == p.default)
    if p.kind == "style":
        return p.none_option if p.default == "" else "the first style"  # type: ignore[return-value]
    if p.kind == "file":
        return "none"
    return _number(float(p.default))  # type: ignore[arg-type]


def _values(p: Param, node: bool = False) -> str:
    if p.kind == "choice":
        return ", ".join(f"{o.label} (`{o.value}`)" for o in p.options)
    if p.kind == "style":
        return "a built-in style" + (f', or {p.none_option} (`""`)' if p.none_option else "")
    if p.kind == "file":
        return 'an image file, or `""` for none'
    assert p.hard is not None
    if p.kind == "integer" and node:  # the node's integers are C ints
        return f"{_number(p.hard[0])} to {_number(min(p.hard[1], 2**31 - 1))}"
    shown = "" if p.slider_range == p.hard else f" (slider to {_number(p.slider_range[1])})"  # type: ignore[index]
    return f"{_number(p.hard[0])} to {_number(p.hard[1])}{shown}"


def node_table() -> str:
    """README.md: the node's parameters, as an artist sees them."""
    rows = ["| parameter | values | default | methods | what it does |", "|---|---|---|---|---|"]
    for p in node_params():
        keyed = " Animatable." if p.animates else ""
        cells = [p.label, _values(p, node=True), _default(p), _methods(p), p.hint + keyed]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def contract_table() -> str:
    """docs/contract.md: the engine's ``params`` dict."""
    types = {"double": "float", "integer": "int", "choice": "str", "style": "str", "file": "str"}
    rows = ["| key | type | values | default | methods | script name |", "|---" * 6 + "|"]
    for p in engine_params():
        if p.kind == "choice":
            values = ", ".join(f'`"{v}"`' for v in p.values)
            default = f'`"{p.default}"`'
        elif p.kind == "style":
            values = "a built-in style name" + (' or `""` (none)' if p.none_option else "")
            default = '`""`' if p.default == "" else "the first style"
        elif p.kind == "file":
            values, default = 'a file path or `""` (none)', '`""`'
        else:
            values, default = _values(p), _default(p)
        rows.append(
            f"| `{p.name}` | {types[p.kind]} | {values} | {default} | {_methods(p)} | "
            f"`{p.script_name}` |"
        )
    return "\n".join(rows)


def cli_table() -> str:
    """docs/farm.md: the parameters' options of ``neuralstyle render`` (and ``stylize``)."""
    rows = ["| option | node parameter | keys | methods | help |", "|---|---|---|---|---|"]
    for p in PARAMETERS:
        if p.flag is None:
            continue
        keys = {"linear": "interpolated", "step": "step"}.get(p.keyed or "", "constant")
        node = p.label if p.node else "(command line only)"
        # One option names a built-in style or a style file: the node's two parameters.
        methods = (
            "all (an image: fast, adain, optimize; a .safetensors: trained)"
            if p.kind == "style"
            else _methods(p)
        )
        rows.append(f"| `{p.flag}` | {node} | {keys} | {methods} | {p.cli_help} |")
    return "\n".join(rows)


#: (file relative to the repository, table name, what writes it)
TABLES: tuple[tuple[str, str, Callable[[], str]], ...] = (
    ("README.md", "node", node_table),
    ("docs/contract.md", "contract", contract_table),
    ("docs/farm.md", "cli", cli_table),
)


def render(text: str, name: str, table: str) -> str:
    """``text`` with the table ``name`` replaced by ``table``.

    Raises:
        ValueError: the markers are missing.
    """
    pattern = re.compile(rf"(<!-- params:{name} -->\n)(?:.*?\n)?(<!-- /params:{name} -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"no <!-- params:{name} --> ... <!-- /params:{name} --> markers")
    return pattern.sub(lambda m: m.group(1) + table + "\n" + m.group(2), text)


def stale(root: Path = _ROOT) -> list[str]:
    """The files whose tables are out of date."""
    out = []
    for relative, name, make in TABLES:
        text = (root / relative).read_text("utf-8")
        if render(text, name, make()) != text:
            out.append(relative)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--check"]:
        files = stale()
        for relative in files:
            print(f"{relative}: parameter table out of date; run python -m neuralstyle.params.docs")
        return 1 if files else 0
    for relative, name, make in TABLES:
        path = _ROOT / relative
        text = path.read_text("utf-8")
        path.write_text(render(text, name, make()), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
