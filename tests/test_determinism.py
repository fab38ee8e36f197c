"""Numerics profiles and device errors: what the engine sets up on first use, and how device
failures reach the user."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neuralstyle
from neuralstyle.engine import determinism
from neuralstyle.engine.stylist import Stylist
from neuralstyle.errors import DeviceError, InputError


@pytest.fixture
def fresh_profile(monkeypatch: pytest.MonkeyPatch):
    """Let a test apply a profile from scratch; put the strict profile back afterwards."""
    monkeypatch.setattr(determinism, "_applied", {})
    yield
    monkeypatch.undo()
    determinism._apply("strict", torch.get_num_threads())


def test_strict_is_the_default_and_is_applied_by_a_render(textured: np.ndarray) -> None:
    neuralstyle.stylize(textured[:16, :16], device="cpu")
    assert determinism.active() == "strict"
    assert torch.are_deterministic_algorithms_enabled()
    assert not torch.backends.cudnn.benchmark
    assert not torch.backends.cuda.matmul.allow_tf32
    assert not torch.backends.cudnn.allow_tf32
    assert not torch.utils.deterministic.fill_uninitialized_memory  # type: ignore[attr-defined]


def test_no_method_reads_memory_it_never_wrote(
    textured: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Strict mode leaves new tensors unfilled (issue 13: 17.6 % of a built-in frame): safe only
    while no method reads unwritten memory. With the NaN fill on, such a read would change
    the bits (or give NaN)."""
    from skimage import data

    determinism.ensure()
    frame, style = textured[:96, :80], data.chelsea()[:120, :150]
    calls = [
        lambda: neuralstyle.stylize(frame, "mosaic", device="cpu"),
        lambda: neuralstyle.stylize(frame, style, method="fast", device="cpu"),
        lambda: neuralstyle.stylize(frame, style, method="adain", device="cpu"),
        lambda: neuralstyle.stylize(frame, style, method="optimize", steps=3, device="cpu"),
    ]
    unfilled = [call() for call in calls]
    monkeypatch.setattr(torch.utils.deterministic, "fill_uninitialized_memory", True)
    for call, out in zip(calls, unfilled, strict=True):
        np.testing.assert_array_equal(call(), out)


def test_fast_profile_and_thread_override(fresh_profile, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(determinism.ENV_PROFILE, "fast")
    assert determinism.ensure() == "fast"
    assert torch.backends.cudnn.allow_tf32 and torch.backends.cudnn.benchmark
    assert not torch.are_deterministic_algorithms_enabled()


def test_strict_fixes_the_thread_count(fresh_profile, monkeypatch: pytest.MonkeyPatch) -> None:
    before = torch.get_num_threads()
    monkeypatch.setenv(determinism.ENV_THREADS, "1")
    try:
        assert determinism.ensure() == "strict"
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("env", "value"),
    [(determinism.ENV_PROFILE, "turbo"), (determinism.ENV_THREADS, "many")],
)
def test_bad_settings_are_input_errors(
    fresh_profile, monkeypatch: pytest.MonkeyPatch, env: str, value: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(InputError, match=env):
        determinism.ensure()
    assert determinism.active() is None


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 99 bytes"),
    ],
)
def test_out_of_memory_is_a_device_error(
    monkeypatch: pytest.MonkeyPatch, textured: np.ndarray, error: Exception
) -> None:
    def oom(self: Stylist, image: torch.Tensor, **_: object) -> torch.Tensor:
        raise error

    monkeypatch.setattr(Stylist, "__call__", oom)
    with pytest.raises(DeviceError, match="out of memory on cpu") as info:
        neuralstyle.stylize(textured[:16, :16], device="cpu")
    assert info.value.exit_code == 75


def test_other_runtime_errors_are_not_disguised(
    monkeypatch: pytest.MonkeyPatch, textured: np.ndarray
) -> None:
    def bug(self: Stylist, image: torch.Tensor, **_: object) -> torch.Tensor:
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(Stylist, "__call__", bug)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        neuralstyle.stylize(textured[:16, :16], device="cpu")
