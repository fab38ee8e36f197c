"""The package's layers (CONTRIBUTING.md, "Layers"): every import points down or sideways."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "neuralstyle"

#: Bottom to top; a module belongs to the longest prefix that names it.
LAYERS = [
    ["errors", "tensor_words", "pixel_encoding", "cache", "recent", "params.table", "params.checks",
     "testing", "io"],
    ["ops", "models", "losses"],
    ["methods", "controls", "temporal"],
    ["engine"],
    ["api", "_api_arrays"],
    ["farm"],
    ["host", "host_image", "host_window", "cli", "command", "sheet", "video_stylize", "metrics",
     "report", "eval_shot", "compile_networks", "training", "params", "farm.render_command",
     "farm.__main__", "__init__", "__main__"],
]  # fmt: skip


def _layer(module: str) -> int:
    best = (-1, -1)
    for index, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best[1]:
                best = (index, len(name))
    assert best[0] >= 0, f"{module} is in no layer: add it to LAYERS and CONTRIBUTING.md"
    return best[0]


def _targets(module: str, names: list[str]) -> list[str]:
    """What ``from module import names`` imports: submodules by their own names."""
    base = module.removeprefix("neuralstyle").lstrip(".")
    folder = PACKAGE.joinpath(*base.split(".")) if base else PACKAGE
    subs = [n for n in names if (folder / f"{n}.py").exists() or (folder / n).is_dir()]
    out = [f"{base}.{n}" if base else n for n in subs]
    return out + ([base] if len(subs) < len(names) and base else [])


def test_imports_point_down() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)
        own = _layer(module)
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("neuralstyle"):
                for target in _targets(str(node.module), [a.name for a in node.names]):
                    if _layer(target) > own:
                        upward.append(f"{module} imports {target}")
    assert upward == []
