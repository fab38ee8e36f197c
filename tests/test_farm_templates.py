"""The farm-manager jobs without a farm: the exact argv each manager would start, the OpenJD
template's parameters against the Python-built jobs', and the render's handling of what a
template can pass (empty choices, ``--extra-args``). ``openjd run`` is in test_farm_openjd.py."""

from __future__ import annotations

import re
import shlex
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from neuralstyle.engine.request import COLOUR_MODES, MASK_MODES, METHODS
from neuralstyle.errors import InputError
from neuralstyle.farm.frame_ranges import parse_frames
from neuralstyle.farm.render_command import main
from neuralstyle.farm.templates import (
    RenderSettings,
    deadline,
    expand_extra_args,
    openjd_template,
    render_command,
    split_extra_args,
)

# Arguments that quoting gets wrong in one way or another: spaces (double too), both quote
# kinds, backslash runs before quotes and at the end, tabs, an empty argument, shell syntax.
AWKWARD = [
    "/shots/sh 010/plate.####.exr",
    "two  spaces",
    "it's",
    'say "hi"',
    'a\\"b',
    "back\\\\slashes\\\\",
    "C:\\styles\\oil\\",
    "/styles/oil paint\\",
    "tab\there",
    "",
    "$HOME;rm -rf x && `id` | %PATH% *",
    "ünïcödé #1",
    "--style=x y",
]
SETTINGS = RenderSettings(
    style="/styles/oil painting.png",
    strength="1001:0,1050:1",
    second_style="it's.png",
    method="adain",
    mask="/mattes/sh 010/m.####.exr",
    mask_mode="strength",
    preserve_colour="luminance",
    stroke_scale="0.5",
    extra_args="--cache-dir '/tmp/a  b' --gpu 1",
)


# ----------------------------------------------------------------------------- OpenJD


def _openjd() -> dict[str, object]:
    template: dict[str, object] = yaml.safe_load(openjd_template().read_text("utf-8"))
    return template


def _openjd_params() -> dict[str, dict[str, object]]:
    return {p["name"]: p for p in _openjd()["parameterDefinitions"]}  # type: ignore[attr-defined]


def _openjd_args() -> list[str]:
    args: list[str] = _openjd()["steps"][0]["script"]["actions"]["onRun"]["args"]  # type: ignore[index]
    return args


def test_openjd_parameters_match_render_settings() -> None:
    """The template and :class:`RenderSettings` (the Deadline and OpenCue jobs) pass the same
    options in the same order, and the same defaults for the two switches."""
    args = _openjd_args()
    tail = args[args.index("{{Task.Param.Frame}}") + 1 :]
    assert tail[-4:] == [
        "{{Param.Verify}}",
        "{{Param.SkipExisting}}",
        "--extra-args",
        "{{Param.ExtraArgs}}",
    ]
    assert tail[0:-4:2] == list(RenderSettings.flags().values())
    assert all(re.fullmatch(r"\{\{Param\.\w+\}\}", value) for value in tail[1:-4:2])
    params = _openjd_params()
    assert params["Verify"]["default"] == "--verify" and RenderSettings().verify
    assert params["SkipExisting"]["default"] == "--skip-existing"
    assert RenderSettings().skip_existing
    assert set(re.findall(r"\{\{Param\.(\w+)\}\}", str(_openjd()["steps"]))) == set(params)


def test_openjd_choices_are_the_engines_with_not_set() -> None:
    params = _openjd_params()
    assert params["Method"]["allowedValues"] == ["", *METHODS]
    assert params["MaskMode"]["allowedValues"] == ["", *MASK_MODES]
    assert params["PreserveColour"]["allowedValues"] == ["", *COLOUR_MODES]


def test_openjd_frames_help_gives_openjd_ranges() -> None:
    """Every example in the Frames help is an OpenJD range (``1-10x2`` is not) and means the
    same frames to the render."""
    from openjd.model import IntRangeExpr

    help_text = str(_openjd_params()["Frames"]["description"])
    examples = ["1001-1100", "1-10:2", "1,5,10-20"]
    assert all(example in help_text for example in examples)
    for example in examples:
        assert list(IntRangeExpr.from_str(example)) == parse_frames(example)
    assert "1-10x2" not in help_text
    with pytest.raises(Exception, match="x2"):
        IntRangeExpr.from_str("1-10x2")


# ----------------------------------------------------------------------------- settings


def test_settings_leave_empty_values_out_and_put_extra_args_last() -> None:
    assert RenderSettings().args() == ["--verify", "--skip-existing"]
    args = RenderSettings(
        style="mosaic", method=" ", verify=False, extra_args="--style '/a b.png'"
    ).args()
    assert args == ["--style", "mosaic", "--no-verify", "--skip-existing", "--style", "/a b.png"]


def test_extra_args_split_like_a_shell_without_one() -> None:
    assert split_extra_args("--mask '/a b/m.####.exr' --gpu 1 $HOME") == [
        "--mask",
        "/a b/m.####.exr",
        "--gpu",
        "1",
        "$HOME",
    ]
    assert expand_extra_args(["a", "--extra-args", "", "b", "--extra-args=-x 'y z'"]) == [
        "a",
        "b",
        "-x",
        "y z",
    ]
    with pytest.raises(InputError, match="No closing quotation"):
        split_extra_args("--seed '3")
    with pytest.raises(InputError, match="expected one argument"):
        expand_extra_args(["--extra-args"])


def test_render_takes_empty_choices_and_extra_args(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the OpenJD template passes by default parses; bad values still fail with one line."""
    base = ["render", str(tmp_path / "plate.####.exr"), "-o", str(tmp_path / "o.####.exr")]
    blanks = ["--method", "", "--mask-mode", "", "--preserve-colour", "", "--frames", "1"]
    # Past parsing, the render stops at the first check: the plate is missing.
    assert main([*base, *blanks, "--extra-args", ""]) == 4
    assert "missing input frame 1" in capsys.readouterr().err
    assert main([*base, "--method", "bogus"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neuralstyle: error: argument --method: invalid choice: 'bogus'")
    assert "(choose from 'builtin', 'adain', 'optimize', 'fast', 'trained')" in err
    assert main([*base, "--extra-args", "--method 'adain"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


# ----------------------------------------------------------------------------- Deadline


def _dotnet_split(arguments: str) -> list[str]:
    """``ProcessStartInfo.Arguments`` split as .NET does on Linux/macOS: a line-by-line port of
    ``Process.ParseArgumentsIntoList``/``GetNextArgument`` (dotnet/runtime,
    System.Diagnostics.Process/src/System/Diagnostics/Process.Unix.cs), the C runtime's rules."""
    results: list[str] = []
    i, n = 0, len(arguments)
    while i < n:
        while i < n and arguments[i] in " \t":
            i += 1
        if i == n:
            break
        current, in_quotes = [], False
        while i < n:
            backslashes = 0
            while i < n and arguments[i] == "\\":
                i += 1
                backslashes += 1
            if backslashes:
                if i >= n or arguments[i] != '"':
                    current.append("\\" * backslashes)
                else:
                    current.append("\\" * (backslashes // 2))
                    if backslashes % 2:
                        current.append('"')
                        i += 1
                continue
            c = arguments[i]
            if c == '"':
                if in_quotes and i < n - 1 and arguments[i + 1] == '"':
                    current.append('"')
                    i += 1
                else:
                    in_quotes = not in_quotes
                i += 1
                continue
            if c in " \t" and not in_quotes:
                break
            current.append(c)
            i += 1
        results.append("".join(current))
    return results


def _deadline_task_argv(plugin_info: Path, start: int, end: int) -> list[str]:
    """The argv Deadline's CommandLine plugin starts for the task ``start``-``end``, from the
    plugin info file (``CommandLine.py``: ``GetRenderExecutable``/``GetRenderArguments``, no
    path mapping rules, ``ShellExecute=False``: ``RunProcess``)."""
    entries = dict(
        line.split("=", 1) for line in plugin_info.read_text("utf-8").split("\n") if line
    )
    assert entries["ShellExecute"] == "False"
    arguments = entries["Arguments"].strip()
    arguments = re.sub(r"<STARTFRAME>", str(start), arguments, flags=re.IGNORECASE)
    arguments = re.sub(r"<ENDFRAME>", str(end), arguments, flags=re.IGNORECASE)
    arguments = re.sub(r"<QUOTE>", '"', arguments, flags=re.IGNORECASE)
    arguments = arguments.replace("\u201c", '"').replace("\u201d", '"')
    return [entries["Executable"].strip(), *_dotnet_split(arguments)]


def test_the_dotnet_port_inverts_cpythons_windows_quoting() -> None:
    """An independent check of the port: CPython's ``list2cmdline`` writes the same rules."""
    assert _dotnet_split(subprocess.list2cmdline(AWKWARD)) == AWKWARD


def test_deadline_task_runs_the_exact_argv(tmp_path: Path) -> None:
    python = "/opt/neural style/.venv/bin/python"
    options = ["--working-cs", "", "--cache-dir", *AWKWARD]
    job, plugin = deadline.job_files(
        "sh010 'style'",
        AWKWARD[0],
        '/out/it\'s "v2"/s.####.exr',
        "1001-1100",
        chunk=5,
        settings=SETTINGS,
        options=options,
        python=python,
    )
    _, plugin_path = deadline.write_job_files(tmp_path, job, plugin)
    expected = render_command(
        python,
        AWKWARD[0],
        '/out/it\'s "v2"/s.####.exr',
        frames="1001-1100",
        chunk="1001-1005",
        settings=SETTINGS,
        options=options,
    )
    assert _deadline_task_argv(plugin_path, 1001, 1005) == expected
    assert "/tmp/a  b" in expected  # from extra_args


def test_deadline_arguments_stay_readable(tmp_path: Path) -> None:
    job, plugin = deadline.job_files(
        "sh010", "/p/plate.####.exr", "/p/out.####.exr", "1001-1100", chunk=5, timeout_minutes=20
    )
    assert job["Plugin"] == "CommandLine"
    assert (job["Frames"], job["ChunkSize"], job["TaskTimeoutMinutes"]) == ("1001-1100", "5", "20")
    assert plugin["Arguments"] == (
        "-m neuralstyle.farm render /p/plate.####.exr --output /p/out.####.exr "
        "--frames 1001-1100 --chunk <STARTFRAME>-<ENDFRAME> --verify --skip-existing"
    )
    job_path, plugin_path = deadline.write_job_files(tmp_path, job, plugin)
    assert "ChunkSize=5\n" in job_path.read_text()
    assert plugin_path.read_text().startswith("Executable=python3\n")


@pytest.mark.parametrize("value", ["/a/<QUOTE>.png", "/a/<startframe%4>.png", "“x”", "a\nb"])
def test_deadline_refuses_what_it_would_rewrite(value: str) -> None:
    with pytest.raises(InputError, match="Deadline would change"):
        deadline.job_files("n", "/p/plate.####.exr", "/p/o.####.exr", "1-2", options=[value])


def test_deadline_job_entries_hold_no_line_breaks(tmp_path: Path) -> None:
    job, plugin = deadline.job_files("a\nb", "/p/plate.####.exr", "/p/o.####.exr", "1-2")
    with pytest.raises(InputError, match="line break"):
        deadline.write_job_files(tmp_path, job, plugin)


# ----------------------------------------------------------------------------- OpenCue


def test_opencue_job_spec_serialises_offline() -> None:
    """RQD runs the layer's command through a POSIX shell, with the tokens replaced."""
    pytest.importorskip("outline")
    from neuralstyle.farm.templates import opencue

    options = ["--cache-dir", *AWKWARD]
    outline = opencue.build_outline(
        "sh010_style",
        AWKWARD[0],
        "/shots/sh 010/styled.####.exr",
        "1001-1100",
        chunk=10,
        settings=SETTINGS,
        options=options,
        gpus=1,
        gpu_memory="12g",
        timeout_minutes=30,
    )
    spec = opencue.job_spec(outline, max_retries=2)
    root = ET.fromstring(spec.split("?>", 1)[1].split(">", 1)[1])  # skip <?xml?> and DOCTYPE
    layer = root.find("job/layers/layer")
    assert layer is not None
    assert layer.findtext("range") == "1001-1100"
    assert layer.findtext("chunk") == "10"
    assert layer.findtext("gpus") == "1"
    assert layer.findtext("timeout") == "30"
    assert root.findtext("job/maxretries") == "2"
    command = (layer.findtext("cmd") or "").replace("#FRAME_START#", "1001")
    assert shlex.split(command.replace("#FRAME_END#", "1010")) == render_command(
        "python3",
        AWKWARD[0],
        "/shots/sh 010/styled.####.exr",
        frames="1001-1100",
        chunk="1001-1010",
        settings=SETTINGS,
        options=options,
    )
