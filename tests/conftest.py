"""Shared fixtures. One test body runs on any device: `--device cpu|cuda|all` (default cpu);
CUDA cases skip, never fail, where no GPU is present."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--device",
        default="cpu",
        choices=("cpu", "cuda", "all"),
        help="devices to run device-parametrised tests on",
    )


def _devices(config: pytest.Config) -> list[str]:
    choice = config.getoption("--device")
    return ["cpu", "cuda"] if choice == "all" else [choice]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", _devices(metafunc.config), indirect=True)


@pytest.fixture
def device(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "cuda":
        import torch

        if not torch.cuda.is_available():
            pytest.skip("no CUDA device on this machine")
    return name


@pytest.fixture(scope="session")
def built() -> Any:
    """The built plugin bundle and our headless host (tests/ofxhost/driver.py: ``Built``); fails,
    never skips, when the build is missing: the plugin tests are part of the suite."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "ofxhost"))
    import driver

    try:
        return driver.locate()
    except FileNotFoundError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A real photograph (scikit-image's astronaut), 128x128 RGB uint8, display-referred."""
    from skimage import data, transform

    img = transform.resize(data.astronaut(), (128, 128), anti_aliasing=True)
    return np.ascontiguousarray((img * 255.0 + 0.5).astype(np.uint8))


@pytest.fixture(scope="session")
def textured() -> np.ndarray:
    """A deterministic textured float32 RGB image in [0, 1], 97x161 (odd sizes on purpose)."""
    rng = np.random.default_rng(1234)
    yy, xx = np.mgrid[0:97, 0:161].astype(np.float32)
    base = np.stack(
        [
            0.5 + 0.4 * np.sin(xx / 7.0) * np.cos(yy / 11.0),
            0.5 + 0.4 * np.sin((xx + yy) / 5.0),
            0.5 + 0.4 * np.cos(xx / 13.0 - yy / 3.0),
        ],
        axis=-1,
    )
    noise = rng.normal(0.0, 0.05, base.shape).astype(np.float32)
    return np.clip(base + noise, 0.0, 1.0).astype(np.float32)
