"""Metrics on numpy images: PSNR, SSIM (against scikit-image), Gram style distance, SSI, report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neuralstyle import metrics
from neuralstyle.errors import InputError


def test_psnr(photo: np.ndarray) -> None:
    assert metrics.psnr(photo, photo) == float("inf")
    noisy = np.clip(photo.astype(np.float32) / 255 + 0.01, 0, 1)
    assert metrics.psnr(noisy, photo) == pytest.approx(40.0, abs=0.5)


def test_ssim_matches_scikit_image(photo: np.ndarray, textured: np.ndarray) -> None:
    from skimage.metrics import structural_similarity

    a = photo.astype(np.float32) / 255
    rng = np.random.default_rng(0)
    b = np.clip(a + rng.normal(0, 0.05, a.shape), 0, 1).astype(np.float32)
    want = structural_similarity(
        a,
        b,
        channel_axis=2,
        data_range=1.0,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
    )
    assert metrics.ssim(b, a) == pytest.approx(want, abs=1e-4)
    assert metrics.ssim(photo, photo) == pytest.approx(1.0)


def test_exception(photo: np.ndarray) -> None:
    with pytest.raises(InputError, match=r"expected image as an \(H, W, 3\) array"):
        metrics.psnr(photo[..., 0], photo)
    with pytest.raises(InputError, match="images differ in size"):
        metrics.ssim(photo, photo[:64])
    with pytest.raises(InputError, match="uint8 or float"):
        metrics.psnr(photo.astype(np.int32), photo)
    with pytest.raises(InputError, match="at least 11x11"):
        metrics.ssim(photo[:8, :8], photo[:8, :8])


def test_style_metrics(photo: np.ndarray, textured: np.ndarray) -> None:
    d = metrics.style_distance(photo, photo)
    assert set(d) == {*metrics.METRIC_LAYERS, "mean"} and d["mean"] == pytest.approx(0.0, abs=1e-6)
    assert metrics.ssi(photo, photo) == pytest.approx(1.0, abs=1e-6)
    # the photo is further from the texture's style than the texture's own crop is
    crop = textured[:64, :64]
    assert metrics.ssi(textured, crop) > metrics.ssi(textured, photo[:96, :96])
    assert metrics.content_loss(photo, photo) == pytest.approx(0.0, abs=1e-9)
    assert metrics.content_loss(photo[::-1].copy(), photo) > 0.1


def test_report(tmp_path: Path, photo: np.ndarray, textured: np.ndarray) -> None:
    numbers = metrics.evaluate(photo, textured, photo)
    assert numbers["ssim"] == pytest.approx(1.0) and numbers["ssi"] == pytest.approx(
        numbers["ssi_content"]
    )
    page = metrics.write_report(tmp_path / "r.html", photo, textured, photo, numbers)
    text = page.read_text()
    assert text.count("data:image/png;base64,") == 3 and "ssi_content" in text
    png = metrics.write_report(tmp_path / "r.png", photo, textured, photo, numbers)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InputError, match=r"\.html or \.png"):
        metrics.write_report(tmp_path / "r.jpg", photo, textured, photo, numbers)
