"""Shared builders for the farm tests: synthetic plates and the render command in a subprocess.

Renders run as real processes (``python -m neuralstyle.farm render``), as a farm runs them: stdin
is a pipe nobody writes (a read would hang until the timeout), and the package is found through
``PYTHONPATH`` whether or not it is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

import neuralstyle

PACKAGE_ROOT = str(Path(neuralstyle.__file__).resolve().parent.parent)
HEIGHT, WIDTH = 48, 64


def plate_pixels(frame: int, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """Premultiplied scene-linear RGBA with highlights up to 8 and a ``depth.Z`` channel."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack(
        [
            0.5 + 0.4 * np.sin(xx / 5.0 + frame),
            0.5 + 0.4 * np.cos(yy / 7.0 - frame),
            0.3 + 0.2 * np.sin((xx + yy) / 9.0),
        ],
        axis=-1,
    )
    rgb[: height // 4, : width // 4] *= 8.0  # a highlight well above 1
    alpha = np.clip(0.25 + xx / width, 0.0, 1.0)[..., None]
    alpha[:, :3] = 0.0  # transparent columns: colour must survive unpremultiply
    depth = (xx + yy * frame)[..., None]
    return np.concatenate([rgb * alpha, alpha, depth], axis=-1).astype(np.float32)


def panned_photo(frame: int, height: int, width: int, name: str = "coffee") -> np.ndarray:
    """Scene-linear float32 RGB: a scikit-image photograph (``name``) panned by a known
    (+1.5, +0.5) px a frame, with sub-pixel steps (bicubic), the temporal tests' moving plate."""
    from scipy import ndimage
    from skimage import data, transform

    photo = transform.resize(getattr(data, name)(), (height + 40, width + 40), anti_aliasing=True)
    dy, dx = 0.5 * frame, 1.5 * frame
    shifted = np.stack(
        [ndimage.shift(photo[..., c], (-dy, -dx), order=3, mode="reflect") for c in range(3)], -1
    )[10 : 10 + height, 10 : 10 + width]
    return (np.clip(shifted, 0.0, 1.0) ** 2.2).astype(np.float32)


def write_exr(path: Path, pixels: np.ndarray, *, half: bool = True) -> None:
    """An EXR with R, G, B, A (half or float) and depth.Z (float), ZIP, fixed DateTime."""
    import OpenImageIO as oiio  # noqa: N813

    height, width, channels = pixels.shape
    spec = oiio.ImageSpec(width, height, channels, "half" if half else "float")
    spec.channelnames = ("R", "G", "B", "A", "depth.Z")[:channels]
    spec.alpha_channel = 3
    colour = oiio.TypeHalf if half else oiio.TypeFloat
    spec.channelformats = (colour,) * min(channels, 4) + (oiio.TypeFloat,) * (channels - 4)
    spec.attribute("compression", "zip")
    spec.attribute("DateTime", "2026:01:01 00:00:00")
    out = oiio.ImageOutput.create(str(path))
    assert out is not None
    assert out.open(str(path), spec)
    assert out.write_image(pixels)
    out.close()


def make_sequence(folder: Path, frames: Sequence[int], name: str = "plate") -> str:
    """Write ``folder/name.####.exr`` for ``frames``; return the pattern."""
    folder.mkdir(parents=True, exist_ok=True)
    for frame in frames:
        write_exr(folder / f"{name}.{frame:04d}.exr", plate_pixels(frame))
    return str(folder / f"{name}.####.exr")


def read_pixels(path: Path) -> np.ndarray:
    """Every channel as float32 (exact for half and float files)."""
    import OpenImageIO as oiio  # noqa: N813

    image = oiio.ImageInput.open(str(path))
    assert image is not None, oiio.geterror()
    try:
        spec = image.spec()
        pixels = image.read_image(0, 0, 0, spec.nchannels, "float")
    finally:
        image.close()
    return np.asarray(pixels)


def read_header(path: Path) -> dict[str, object]:
    import OpenImageIO as oiio  # noqa: N813

    image = oiio.ImageInput.open(str(path))
    assert image is not None
    try:
        return {a.name: a.value for a in image.spec().extra_attribs}
    finally:
        image.close()


def render(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m neuralstyle.farm render ARGS`` in a fresh process."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (PACKAGE_ROOT, full_env.get("PYTHONPATH")) if p
    )
    for name in ("NEURALSTYLE_FARM_INJECT", "NEURALSTYLE_FARM_INJECT_STATE", "CUE_THREADS"):
        full_env.pop(name, None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "neuralstyle.farm", "render", *args],
        stdin=subprocess.PIPE,  # open and never written: a read would block until the timeout
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=cwd,
        check=False,
    )


def frame_lines(stderr: str) -> dict[int, dict[str, str]]:
    """The per-frame log lines, parsed: frame -> {key: value}."""
    out: dict[int, dict[str, str]] = {}
    for line in stderr.splitlines():
        if not line.startswith("neuralstyle: time=") or " frame=" not in line:
            continue
        fields = dict(part.split("=", 1) for part in line.split()[1:])
        out[int(fields["frame"])] = fields
    return out


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("neuralstyle: error:")]
