"""Layering: dependencies point down (docs: DESIGN.md, "Layers and data flow"). Imports are read
from the source with ``ast``, so an import inside a function counts as much as one at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import neuralstyle

PACKAGE = Path(neuralstyle.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file, as absolute dotted names."""
    package = ".".join(("neuralstyle", *path.relative_to(PACKAGE).parent.parts))
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            found.add(module)
            # ``from neuralstyle import engine`` imports a module too
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _ours(modules: set[str]) -> set[str]:
    return {m for m in modules if m == "neuralstyle" or m.startswith("neuralstyle.")}


@pytest.mark.parametrize("path", sorted((PACKAGE / "io").glob("*.py")), ids=lambda p: p.name)
def test_io_does_not_import_the_engine(path: Path) -> None:
    """The engine's request reads images through io, so io must not import the engine back."""
    upward = {m for m in _ours(_imports(path)) if m.startswith("neuralstyle.engine")}
    assert upward == set()


def test_pixel_encoding_imports_nothing_of_the_package_but_errors() -> None:
    """Both io and the engine import the pixel encodings: they sit below both."""
    ours = _ours(_imports(PACKAGE / "pixel_encoding.py"))
    assert {m for m in ours if m.split(".")[:2] != ["neuralstyle", "errors"]} == set()


def test_the_import_reader_sees_imports_inside_functions() -> None:
    """The check above would pass vacuously if nested or relative imports were missed."""
    module = PACKAGE / "io" / "images.py"
    assert "neuralstyle.pixel_encoding.srgb_encode" in _imports(module)  # inside convert()
    assert "neuralstyle.io.atomic.atomic_target" in _imports(module)


@pytest.mark.parametrize("path", sorted((PACKAGE / "testing").glob("*.py")), ids=lambda p: p.name)
def test_testing_hooks_import_nothing_of_the_package_but_errors(path: Path) -> None:
    """Test hooks sit at the bottom: host, ops and farm read them, so they import none of those
    (nor engine, methods, models) back."""
    allowed = (["neuralstyle", "errors"], ["neuralstyle", "testing"])
    assert {m for m in _ours(_imports(path)) if m.split(".")[:2] not in allowed} == set()


def test_testing_hooks_are_read_by_the_product() -> None:
    """The check above would pass vacuously if the hooks had moved out of ``testing``."""
    assert "neuralstyle.testing.trace" in _imports(PACKAGE / "host.py")
    assert "neuralstyle.testing.poison" in _imports(PACKAGE / "ops" / "_cuda.py")
    assert "neuralstyle.testing.faults.FaultPlan" in _imports(PACKAGE / "farm" / "dask_backend.py")
