"""Work that cannot fit the device's free memory is refused before it starts, with a message
that says how much it needs: on the CPU a process that runs out is killed by the kernel (and the
host with it), not given an error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neuralstyle
from neuralstyle.errors import OutOfMemoryError
from neuralstyle.methods import adain, per_device

CPU = {"device": "cpu"}


@pytest.fixture
def pictures() -> tuple[np.ndarray, np.ndarray]:
    """A 64x48 frame and a 40x40 painting."""
    rng = np.random.default_rng(3)
    return rng.random((48, 64, 3), dtype=np.float32), rng.random((40, 40, 3), dtype=np.float32)


def test_the_cpu_reports_its_available_memory() -> None:
    free = per_device.free_memory(torch.device("cpu"))
    assert free is not None and 2**26 < free < 2**50


def test_check_fits_refuses_more_than_is_free(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(per_device, "free_memory", lambda device: 3 * 2**30)
    cpu = torch.device("cpu")
    per_device.check_fits(cpu, 2 * 2**30, "this", "do less")  # fits: nothing happens
    with pytest.raises(OutOfMemoryError, match=r"^this needs about 4.0 GiB, 3.0 GiB free on cpu: "):
        per_device.check_fits(cpu, 4 * 2**30, "this", "do less")
    monkeypatch.setattr(per_device, "free_memory", lambda device: None)
    per_device.check_fits(cpu, 2**50, "this", "do less")  # unknown: the work goes on


@pytest.mark.parametrize(
    ("method", "words", "extra"),
    [
        ("adain", "AdaIN.s style image at 64x64 needs about", {}),  # the style is encoded first
        ("optimize", "optimising a 64x48 frame needs about", {"steps": 2}),
    ],
)
def test_heavy_methods_refuse_a_frame_that_cannot_fit(
    monkeypatch: pytest.MonkeyPatch,
    pictures: tuple[np.ndarray, np.ndarray],
    method: str,
    words: str,
    extra: dict[str, int],
) -> None:
    frame, painting = pictures
    monkeypatch.setattr(per_device, "free_memory", lambda device: 2**20)
    with pytest.raises(OutOfMemoryError, match=words) as caught:
        neuralstyle.stylize(frame, painting, method=method, **CPU, **extra)
    assert caught.value.device == "cpu"
    monkeypatch.undo()
    assert neuralstyle.stylize(frame, painting, method=method, **CPU, **extra).shape == frame.shape


def test_the_adain_estimate_holds_the_measured_peaks() -> None:
    """Measured peak growth (benchmarks/RESULTS.md, Methods): 2.37 GB at 1080p, 8.15 GB at 4K."""
    assert adain.estimate_memory((1080, 1920)) > 2.37e9
    assert adain.estimate_memory((2160, 3840)) > 8.15e9
    assert adain.estimate_memory((2160, 3840)) < 1.5 * 8.15e9


def test_adain_checks_the_frame_as_well_as_the_style(monkeypatch: pytest.MonkeyPatch) -> None:
    model = adain.load_adain("cpu")
    statistics = model.style_statistics(torch.rand(1, 3, 32, 32))  # a shot's cached statistics
    monkeypatch.setattr(per_device, "free_memory", lambda device: 2**20)
    with pytest.raises(OutOfMemoryError, match="AdaIN on a 64x48 frame needs about"):
        model.stylize(torch.rand(1, 3, 48, 64), [statistics])
