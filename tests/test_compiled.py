"""The built-in network compiled for this CPU (models/compiled.py): same pictures as the eager
module within the stated tolerance, the same bits in every process and thread count, and a
render that never fails because a package cannot be built or loaded.

The packages are those ``scripts/setup.sh`` built (``neuralstyle compile``) beside torch; a test
that finds none builds them (about 20 s each on two cores).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from neuralstyle.compile_networks import TOLERANCE
from neuralstyle.engine import determinism
from neuralstyle.errors import InputError
from neuralstyle.methods.builtin import BuiltinStyles, compilable
from neuralstyle.models import compiled
from neuralstyle.models.styles import resolve_style, style_weights

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def network() -> BuiltinStyles:
    net = BuiltinStyles("cpu")
    assert net.compiled, "no compiled package: scripts/setup.sh runs `neuralstyle compile`"
    return net


@pytest.fixture
def quiet_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled, "_warned", set())


@pytest.mark.parametrize("size", [(37, 50), (64, 96), (130, 203), (8, 8)])
def test_compiled_agrees_with_eager(network: BuiltinStyles, size: tuple[int, int]) -> None:
    """Any size, also those that are no multiple of 4 (padded as the eager network pads)."""
    image = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(size[0]))
    mix = 0.3 * style_weights(resolve_style("mosaic")) + 0.7 * style_weights(resolve_style(3))
    with torch.inference_mode():
        eager = network.net(image, mix)
    out = network(image, mix)
    assert out.shape == eager.shape == (1, 3, *size)
    difference = float((out - eager).abs().max())
    assert difference <= TOLERANCE


def test_batches_and_per_image_mixes_run_eager(network: BuiltinStyles) -> None:
    """The package holds one image and one mix; other calls take the eager module, same bits."""
    image = torch.rand(2, 3, 24, 28, generator=torch.Generator().manual_seed(1))
    mixes = torch.eye(26)[[4, 9]]
    with torch.inference_mode():
        expected = network.net(image, mixes)
    assert torch.equal(network(image, mixes), expected)


_HASH_SCRIPT = """
import hashlib, numpy as np, neuralstyle
from neuralstyle.methods.builtin import load_builtin
rng = np.random.default_rng(7)
frame = rng.random((70, 90, 3), dtype=np.float32)
out = neuralstyle.stylize(frame, "night-swirl", device="cpu")
print(load_builtin("cpu").compiled, hashlib.sha256(out.tobytes()).hexdigest())
"""


def test_compiled_frames_are_identical_across_processes_and_threads(
    network: BuiltinStyles,
) -> None:
    """Also with torch's huge-page allocation on (an opt-in: determinism.py)."""
    runs = set()
    for threads, huge_pages in (("1", "0"), ("3", "1")):
        env = {
            **os.environ,
            "NEURALSTYLE_THREADS": threads,
            determinism.THP_ENV: huge_pages,
            "PYTHONPATH": str(ROOT / "python"),
        }
        result = subprocess.run(
            [sys.executable, "-c", _HASH_SCRIPT],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        runs.add(result.stdout.strip())
    assert len(runs) == 1
    assert next(iter(runs)).startswith("True ")


def test_off_renders_with_the_eager_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(compiled.ENV_COMPILE, "off")
    net = BuiltinStyles("cpu")
    assert not net.compiled
    image = torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(2))
    weights = torch.eye(26)[0]
    with torch.inference_mode():
        assert torch.equal(net(image, weights), net.net(image, weights))


def test_an_unknown_policy_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(compiled.ENV_COMPILE, "always")
    with pytest.raises(InputError, match="NEURALSTYLE_COMPILE must be one of auto, off"):
        BuiltinStyles("cpu")


def test_a_package_that_cannot_be_built_leaves_the_eager_module(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    quiet_once: None,
) -> None:
    """A read-only folder (here: a file where the folder should be): one warning, then eager."""
    blocker = tmp_path / "compiled"
    blocker.write_text("not a folder")
    monkeypatch.setenv(compiled.ENV_FOLDER, str(blocker))
    with caplog.at_level(logging.WARNING, logger=compiled.__name__):
        nets = [BuiltinStyles("cpu") for _ in range(2)]
    assert not any(net.compiled for net in nets)
    warnings = [r.getMessage() for r in caplog.records if r.name == compiled.__name__]
    assert len(warnings) == 1 and "runs uncompiled" in warnings[0]
    image = torch.rand(1, 3, 16, 16)
    assert nets[0](image, torch.eye(26)[1]).shape == (1, 3, 16, 16)


def test_a_broken_package_leaves_the_eager_module_and_compile_rebuilds_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    quiet_once: None,
    network: BuiltinStyles,
) -> None:
    monkeypatch.setenv(compiled.ENV_FOLDER, str(tmp_path))
    path = compiled.package_path(compilable(network.net))
    assert path.parent == tmp_path
    path.write_bytes(b"PK\x03\x04 a truncated copy")
    with caplog.at_level(logging.WARNING, logger=compiled.__name__):
        assert not BuiltinStyles("cpu").compiled
    assert str(path) in caplog.text and "neuralstyle compile" in caplog.text

    env = {**os.environ, compiled.ENV_FOLDER: str(tmp_path), "PYTHONPATH": str(ROOT / "python")}
    result = subprocess.run(
        [sys.executable, "-m", "neuralstyle", "compile"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "is unusable" in result.stdout and "builtin: built in" in result.stdout
    assert BuiltinStyles("cpu").compiled


def test_the_package_key_follows_the_weights_and_the_example_shapes(
    network: BuiltinStyles,
) -> None:
    spec = compilable(network.net)
    other = BuiltinStyles(
        "cpu", weights={k: v.clone() for k, v in network.net.state_dict().items()}
    )
    assert compiled.package_path(compilable(other.net)) == compiled.package_path(spec)
    with torch.no_grad():
        next(other.net.parameters()).add_(1e-3)
    assert compiled.package_path(compilable(other.net)) != compiled.package_path(spec)


def test_compile_command_reports_an_up_to_date_package(network: BuiltinStyles) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "neuralstyle", "compile"],
        env={**os.environ, "PYTHONPATH": str(ROOT / "python")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    *networks, arena = result.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in networks] == ["builtin", "trained", "fast"]
    for line in networks:
        assert ": up to date" in line and line.endswith(".pt2")
        difference = float(line.split("max difference to eager ")[1].split(":")[0])
        assert difference <= TOLERANCE
    assert arena.startswith("frame arena: up to date") and arena.endswith(".so")


def test_a_process_leaves_no_unpacked_package_behind(tmp_path: Path) -> None:
    """torch unpacks a package into ``$TMPDIR/aotinductor_*`` and removes it only when its
    loader is destroyed: the loaders are let go at exit, so nothing stays behind."""
    script = (
        "import os, torch; from neuralstyle.methods.builtin import BuiltinStyles; "
        "net = BuiltinStyles('cpu'); assert net.compiled; "
        "print(sorted(os.listdir(os.environ['TMPDIR'])))"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONPATH": str(ROOT / "python")}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "aotinductor_" in done.stdout  # unpacked while the process ran
    assert not list(tmp_path.glob("aotinductor_*"))


def _trained_network(seed: int) -> torch.nn.Module:
    from neuralstyle.models.cin_net import CINNet

    net = CINNet(num_styles=1)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=generator))
    return net.eval().requires_grad_(False)


def test_trained_styles_share_one_package_and_paint_with_their_own_weights() -> None:
    from neuralstyle.methods import trained

    nets = [_trained_network(seed) for seed in (1, 2)]
    specs = [trained.compilable(net) for net in nets]
    assert compiled.package_path(specs[0]) == compiled.package_path(specs[1])
    assert compiled.package_path(specs[0]).is_file(), "setup's `neuralstyle compile` builds it"
    image = torch.rand(1, 3, 37, 50, generator=torch.Generator().manual_seed(7))
    outs = []
    for net, spec in zip(nets, specs, strict=True):
        run = compiled.CompiledOrEager(spec, torch.device("cpu"))
        assert run.compiled
        with torch.inference_mode():
            out, eager = run(image, torch.ones(1)), net(image, torch.ones(1))
        assert float((out - eager).abs().max()) <= TOLERANCE
        outs.append(out)
    assert float((outs[0] - outs[1]).abs().max()) > 0.05  # each painted with its own weights


def test_weights_the_shared_package_paints_otherwise_run_eager(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from neuralstyle.methods import trained

    monkeypatch.setattr(compiled, "WEIGHTS_TOLERANCE", -1.0)  # every difference is too large
    net = _trained_network(3)
    with caplog.at_level(logging.WARNING, logger=compiled.__name__):
        run = compiled.CompiledOrEager(trained.compilable(net), torch.device("cpu"))
    assert not run.compiled
    assert "trained network runs uncompiled" in caplog.text
    image = torch.rand(1, 3, 20, 24)
    with torch.inference_mode():
        assert torch.equal(run(image, torch.ones(1)), net(image, torch.ones(1)))
