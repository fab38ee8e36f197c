"""The parameter table is the one source: everything generated from it agrees with it.

The plugin's descriptor against the table is in test_plugin_ofx.py (it needs the built plugin)."""

from __future__ import annotations

import argparse
import inspect
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from neuralstyle import api
from neuralstyle.cli import _build_parser
from neuralstyle.engine.request import PARAMS, StyleRequest
from neuralstyle.errors import InputError
from neuralstyle.farm.keyframes import ANIMATABLE, DEFAULTS, RANGES
from neuralstyle.farm.templates import RenderSettings, openjd_template
from neuralstyle.io.images import write_image
from neuralstyle.params import docs, plugin_header
from neuralstyle.params.options import given
from neuralstyle.params.table import PARAMETERS, _check, by_name, engine_params, node_params

ROOT = Path(__file__).resolve().parents[1]


def test_the_table_holds_its_own_rules() -> None:
    _check(PARAMETERS)
    # Script names are what saved comps hold: these never change (add, never rename). Their
    # order is only the host's display order.
    assert {p.script_name for p in node_params()} >= {
        "method", "style", "secondStyle", "styleBlend", "strength", "styleFile",
        "secondStyleFile", "maskMode", "preserveColour", "strokeScale", "quality", "seed",
        "init", "styleWeight", "device",
    }  # fmt: skip


def test_the_docs_tables_are_current() -> None:
    assert docs.stale(ROOT) == [], "run: python -m neuralstyle.params.docs"


def test_the_contract_keys_are_the_engine_parameters(tmp_path: Path) -> None:
    assert set(PARAMS) == {p.name for p in engine_params()}
    defaults = {p.name: p.default for p in engine_params()}
    style = tmp_path / "style.png"
    write_image(style, np.full((64, 64, 3), 0.5, np.float32))
    request = StyleRequest.from_params({"method": "optimize", "style_file": str(style)})
    for name in ("strength", "style_blend", "stroke_scale", "seed", "init", "quality"):
        if name != "style_blend":  # 0 without a second style, so equal settings are equal
            assert getattr(request, name) == defaults[name], name
    assert request.style_weight == defaults["style_weight"]


@pytest.mark.parametrize("function", [StyleRequest.create, api.stylize])
def test_python_defaults_are_the_table_defaults(function: object) -> None:
    table = by_name()
    for name, parameter in inspect.signature(function).parameters.items():  # type: ignore[arg-type]
        if name in table and parameter.default is not None and name != "style":
            assert parameter.default == table[name].default, name
    # The first built-in style: index 0.
    assert inspect.signature(function).parameters["style"].default == 0  # type: ignore[arg-type]


def _subparser(name: str) -> argparse.ArgumentParser:
    parser = _build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    command: argparse.ArgumentParser = commands.choices[name]
    return command


@pytest.mark.parametrize("command", ["stylize", "render"])
def test_every_parameter_with_a_flag_is_an_option_of_the_commands(command: str) -> None:
    parser = _subparser(command)
    options = {o: a for a in parser._actions for o in a.option_strings}
    for p in PARAMETERS:
        if p.flag is None or (command == "stylize" and p.group == "temporal"):
            continue  # temporal stability needs a shot: render only
        action = options[p.flag]
        assert action.help == p.cli_help
        if p.kind == "choice":
            metavar = str(action.metavar or "")
            shown = action.choices or metavar.strip("{}").split(",")
            assert tuple(shown) == p.values, p.name


def test_options_parse_to_parameter_values() -> None:
    args = _subparser("stylize").parse_args(
        ["in.png", "-o", "out.png", "--stroke-scale", "2", "--optimize-quality", "high",
         "--seed", "7", "--device", "cpu", "--second-style", "mosaic"]
    )  # fmt: skip
    assert given(args) == {
        "stroke_scale": 2.0, "quality": "high", "seed": 7, "device": "cpu",
        "second_style": "mosaic",
    }  # fmt: skip
    render = _subparser("render").parse_args(
        ["p.####.exr", "-o", "o.####.exr", "--strength", "1:0,5:1", "--method", "", "--seed", ""]
    )
    assert given(render) == {"strength": "1:0,5:1", "device": "auto"}


def test_render_refuses_an_unknown_choice_and_names_the_real_ones() -> None:
    with pytest.raises(InputError, match=r"invalid choice: 'inside' \(choose from 'strength', "):
        _subparser("render").parse_args(["p.exr", "-o", "o.exr", "--mask-mode", "inside"])


def test_farm_keys_follow_the_table() -> None:
    table = by_name()
    assert set(ANIMATABLE) == {p.name for p in PARAMETERS if p.keyed}
    for name, (low, high) in RANGES.items():
        assert (low, high) == table[name].hard
    assert DEFAULTS["strength"] == table["strength"].default


def test_farm_templates_pass_the_table_options() -> None:
    table = by_name()
    flags = RenderSettings.flags()
    template = yaml.safe_load(openjd_template().read_text("utf-8"))
    openjd = {p["name"]: p for p in template["parameterDefinitions"]}
    for name, flag in flags.items():
        if name in table:
            assert flag == table[name].flag, name
            camel = re.sub(r"(?:^|_)(\w)", lambda m: m.group(1).upper(), name)
            if table[name].kind == "choice":
                # An empty value is "not given", except where the render has a default.
                unset = [] if table[name].group == "process" else [""]
                assert openjd[camel]["allowedValues"] == [*unset, *table[name].values], name


def test_the_plugin_header_lists_every_node_parameter(tmp_path: Path) -> None:
    text = plugin_header.header_text()
    for p in node_params():
        assert f'"{p.script_name}"' in text
    assert plugin_header.main([str(tmp_path / "h.h")]) == 0
    assert (tmp_path / "h.h").read_text("utf-8") == text
