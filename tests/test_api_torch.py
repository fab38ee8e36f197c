"""neuralstyle.stylize on torch tensors: (C, H, W) and (B, C, H, W), every dtype, any device, the
same type back; colour="srgb" (the tensors' default) against the uint8 path; grey; batches; masks;
tensor styles; errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neuralstyle
from neuralstyle.controls import luminance
from neuralstyle.errors import InputError

CPU = {"device": "cpu"}
DTYPES = (torch.uint8, torch.uint16, torch.float16, torch.bfloat16, torch.float32, torch.float64)


@pytest.fixture(scope="module")
def levels(textured: np.ndarray) -> np.ndarray:
    """24x40 RGB uint8: the display-referred image the float cases are made from (k / 255)."""
    return np.rint(textured[:24, :40] * 255.0).astype(np.uint8)


def _chw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).contiguous()


def _hwc(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().permute(1, 2, 0).numpy()


def _srgb(levels: np.ndarray, channels: int = 3) -> torch.Tensor:
    """``levels`` as float32 ``(C, H, W)`` in [0, 1], every value a multiple of 1/255 (for C = 4
    with an alpha ramp)."""
    rgb = _chw(levels).float() / 255.0
    if channels == 1:
        return rgb[:1].clone()
    if channels == 4:
        ramp = torch.linspace(0.0, 255.0, rgb.shape[2]).round() / 255.0
        return torch.cat([rgb, ramp.expand(1, *rgb.shape[1:])])
    return rgb


def _as(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Float values in [0, 1] as ``dtype`` (integers scaled to their range)."""
    if dtype.is_floating_point:
        return x.to(dtype)
    top = torch.iinfo(dtype).max
    return (x.double() * top).round().to(dtype)


# --- shapes, dtypes, devices ------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_same_type_shape_dtype_back(levels: np.ndarray, dtype: torch.dtype, channels: int) -> None:
    x = _as(_srgb(levels, channels), dtype)
    out = neuralstyle.stylize(x, 5, **CPU)
    assert isinstance(out, torch.Tensor)
    assert (out.shape, out.dtype, out.device) == (x.shape, x.dtype, x.device)
    assert not out.requires_grad
    assert not torch.equal(out[:3], x[:3])
    assert torch.equal(out[3:], x[3:])  # alpha bit-exact


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float16, np.float32])
def test_tensor_equals_the_array_path(levels: np.ndarray, dtype: type, channels: int) -> None:
    """The engine's types give the numpy result bit for bit (floats with colour="linear")."""
    x = _as(_srgb(levels, channels), getattr(torch, np.dtype(dtype).name))
    array = np.ascontiguousarray(_hwc(x))
    colour = "linear" if np.dtype(dtype).kind == "f" else "srgb"
    out = neuralstyle.stylize(x, 7, strength=0.6, colour=colour, **CPU)
    assert np.array_equal(_hwc(out), neuralstyle.stylize(array, 7, strength=0.6, **CPU))


def test_wider_floats_equal_float32(levels: np.ndarray) -> None:
    """float64 and bfloat16 are read as float32 values and written back rounded once."""
    x = _srgb(levels, 4)
    ref = neuralstyle.stylize(x, 2, **CPU)
    assert torch.equal(neuralstyle.stylize(x.double(), 2, **CPU), ref.double())
    bf = x.bfloat16()
    assert torch.equal(
        neuralstyle.stylize(bf, 2, **CPU), neuralstyle.stylize(bf.float(), 2, **CPU).bfloat16()
    )


def test_on_any_device(levels: np.ndarray, device: str) -> None:
    x = _srgb(levels, 4).to(device)
    out = neuralstyle.stylize(x, 3)  # device="auto": a CUDA tensor runs on its own GPU
    assert (out.shape, out.dtype, out.device) == (x.shape, x.dtype, x.device)
    ref = neuralstyle.stylize(x.cpu(), 3, **CPU)
    torch.testing.assert_close(out.cpu(), ref, atol=2e-3, rtol=0.0)
    u8 = _as(x, torch.uint8)
    diff = neuralstyle.stylize(u8, 3).cpu().int() - neuralstyle.stylize(u8.cpu(), 3, **CPU).int()
    assert diff.abs().max() <= 1


def test_cuda_tensor_rendered_on_the_cpu(levels: np.ndarray) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    x = _srgb(levels).cuda()
    out = neuralstyle.stylize(x, 3, **CPU)
    assert out.device == x.device
    assert torch.equal(out.cpu(), neuralstyle.stylize(x.cpu(), 3, **CPU))


def test_layouts_and_autograd_inputs(levels: np.ndarray) -> None:
    x = _srgb(levels, 4)
    ref = neuralstyle.stylize(x, 6, **CPU)
    last = x[None].contiguous(memory_format=torch.channels_last)[0]
    assert torch.equal(neuralstyle.stylize(last, 6, **CPU), ref)
    wide = torch.zeros(4, 24, 80)
    wide[:, :, ::2] = x
    assert torch.equal(neuralstyle.stylize(wide[:, :, ::2], 6, **CPU), ref)  # strided view
    leaf = x.clone().requires_grad_()
    assert torch.equal(neuralstyle.stylize(leaf, 6, **CPU), ref)
    assert torch.equal(leaf.detach(), x)  # the input is not modified


# --- strength 0, colour ------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_strength_zero_is_bit_exact(levels: np.ndarray, dtype: torch.dtype, channels: int) -> None:
    x = _as(_srgb(levels, channels) * (1.5 if dtype.is_floating_point else 1.0), dtype)
    if dtype.is_floating_point:
        x[0, 0, 0] = -0.0  # even the sign of zero survives
    for image in (x, torch.stack([x, x.flip(2)])):
        out = neuralstyle.stylize(image, 3, strength=0.0, **CPU)
        assert out.dtype == image.dtype and torch.equal(_bits(out), _bits(image))
        assert out.data_ptr() != image.data_ptr()


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous().view(
        {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()]
    )


@pytest.mark.parametrize("strength", [1.0, 0.5])
@pytest.mark.parametrize("channels", [3, 4])
def test_srgb_floats_equal_the_uint8_path(
    levels: np.ndarray, channels: int, strength: float
) -> None:
    """Display-referred floats are stylised as uint8 pixels are, strength mixing in sRGB, only
    without the rounding to 1/255 and the clamp to [0, 1]."""
    x = _srgb(levels, channels)
    kw = {"strength": strength, "premultiplied": False, **CPU}
    out = neuralstyle.stylize(x, 4, **kw)  # type: ignore[arg-type]
    ref = neuralstyle.stylize(_as(x, torch.uint8), 4, **kw)  # type: ignore[arg-type]
    assert (out.clamp(0.0, 1.0) * 255.0 - ref.float()).abs().max() <= 0.5 + 1e-3
    assert torch.equal(neuralstyle.stylize(x, 4, colour="srgb", **kw), out)  # type: ignore[arg-type]


def test_colour_defaults_by_type(levels: np.ndarray) -> None:
    x = _srgb(levels)
    srgb = neuralstyle.stylize(x, 4, **CPU)
    linear = neuralstyle.stylize(x, 4, colour="linear", **CPU)
    array = np.ascontiguousarray(_hwc(x))
    # numpy floats stay scene-linear unless told; either type honours an explicit colour
    assert np.array_equal(neuralstyle.stylize(array, 4, **CPU), _hwc(linear))
    assert np.array_equal(neuralstyle.stylize(array, 4, colour="srgb", **CPU), _hwc(srgb))
    # read as linear, the picture the network sees is brighter: the result differs visibly
    assert (srgb - linear).abs().mean() > 0.02


@pytest.mark.parametrize("colour", ["srgb", "linear"])
def test_floats_keep_values_outside_the_unit_range(levels: np.ndarray, colour: str) -> None:
    x = _srgb(levels)
    x[:, :4, :4] = 1.5
    x[:, 20:, 36:] = -0.25
    out = neuralstyle.stylize(x, 4, colour=colour, **CPU)  # type: ignore[arg-type]
    seen = neuralstyle.stylize(x.clamp(0.0, 1.0), 4, colour=colour, **CPU)  # type: ignore[arg-type]
    # what the network cannot see (above 1, below 0) is kept on top of the stylised picture
    tolerance = 1e-6 if colour == "srgb" else 1e-5
    torch.testing.assert_close(out - seen, x - x.clamp(0.0, 1.0), atol=tolerance, rtol=0.0)


# --- grey, batches, masks, styles ---------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_grey_is_the_luma_of_the_grey_rgb_render(levels: np.ndarray, dtype: torch.dtype) -> None:
    grey = _as(_srgb(levels, 1), dtype)
    out = neuralstyle.stylize(grey, 9, **CPU)
    assert (out.shape, out.dtype) == (grey.shape, grey.dtype)
    rgb = neuralstyle.stylize(grey.expand(3, -1, -1), 9, **CPU).float()
    luma = luminance(rgb[None])[0]
    tolerance = 1e-5 if dtype.is_floating_point else 1.0  # uint8: the RGB render is rounded too
    assert (out.float() - luma).abs().max() <= tolerance
    assert (out.float() - grey.float()).abs().mean() > 0.01 * (
        1 if dtype.is_floating_point else 255
    )


def test_batch_frames_equal_single_calls(levels: np.ndarray) -> None:
    frames = [_srgb(levels, 4), _srgb(levels[::-1], 4), _srgb(levels[:, ::-1], 4)]
    batch = _as(torch.stack(frames), torch.uint8)
    out = neuralstyle.stylize(batch, 11, strength=0.8, **CPU)
    assert out.shape == batch.shape
    for b in range(3):
        assert torch.equal(out[b], neuralstyle.stylize(batch[b], 11, strength=0.8, **CPU))


def test_tensor_masks(levels: np.ndarray) -> None:
    batch = torch.stack([_srgb(levels, 4), _srgb(levels[::-1], 4)])
    masks = torch.zeros(2, 1, 24, 40)
    masks[0, :, :, 20:] = 1.0
    masks[1, :, :12] = 1.0
    out = neuralstyle.stylize(batch, 8, mask=masks, **CPU)
    for b in range(2):
        keep = masks[b, 0] == 0
        assert torch.equal(out[b][:, keep], batch[b][:, keep])  # bit-exact where the mask is 0
        single = neuralstyle.stylize(batch[b], 8, mask=masks[b, 0], **CPU)
        assert torch.equal(out[b], single)
    # one (H, W) or (1, H, W) mask is every frame's; uint8 masks are normalised
    one = torch.full((24, 40), 255, dtype=torch.uint8)
    full = neuralstyle.stylize(batch, 8, **CPU)
    assert torch.equal(neuralstyle.stylize(batch, 8, mask=one, **CPU), full)
    none = torch.zeros((1, 24, 40), dtype=torch.uint8)
    assert torch.equal(neuralstyle.stylize(batch, 8, mask=none, **CPU), batch)


def test_tensor_styles(levels: np.ndarray) -> None:
    from skimage import data, transform

    style = np.rint(transform.resize(data.chelsea(), (40, 48)) * 255).astype(np.uint8)
    image = _srgb(levels)
    ref = neuralstyle.stylize(image, style, **CPU)
    assert torch.equal(neuralstyle.stylize(image, _chw(style), **CPU), ref)
    assert torch.equal(neuralstyle.stylize(image, _chw(style)[None], **CPU), ref)
    # a float sRGB tensor style is the same painting (up to float rounding)
    floats = neuralstyle.stylize(image, _chw(style).double() / 255.0, **CPU)
    assert (floats - ref).abs().max() < 1e-3


def test_number_tensors_are_numbers(levels: np.ndarray) -> None:
    x = _srgb(levels)
    ref = neuralstyle.stylize(x, 3, strength=0.5, **CPU)
    got = neuralstyle.stylize(x, torch.tensor(3), strength=torch.tensor(0.5), **CPU)
    assert torch.equal(got, ref)
    with pytest.raises(InputError, match="strength must be a number"):
        neuralstyle.stylize(x, strength=torch.tensor(True), **CPU)


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "words"),
    [
        (torch.zeros(24, 40), "got shape (24, 40)"),
        (torch.zeros(1, 1, 3, 24, 40), "got shape (1, 1, 3, 24, 40)"),
        (torch.zeros(2, 24, 40), "C = 1, 3 or 4, got shape (2, 24, 40)"),
        (torch.zeros(24, 40, 3), "got shape (24, 40, 3)"),  # HWC is not a tensor layout
        (torch.zeros(3, 24, 40, dtype=torch.complex64), "got complex64"),
        (torch.zeros(3, 24, 40, dtype=torch.int32), "got int32"),
        (torch.zeros(3, 24, 40, dtype=torch.bool), "got bool"),
        (torch.zeros(0, 3, 24, 40), "empty"),
        (torch.zeros(3, 0, 40), "empty"),
    ],
)
def test_bad_tensors(image: torch.Tensor, words: str) -> None:
    with pytest.raises(InputError) as info:
        neuralstyle.stylize(image, **CPU)
    assert words in str(info.value)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_tensors_are_refused(levels: np.ndarray, dtype: torch.dtype, bad: float) -> None:
    x = _srgb(levels, 4).to(dtype)
    x[1, 3, 4] = bad
    with pytest.raises(InputError, match="1 NaN or infinite value"):
        neuralstyle.stylize(x, **CPU)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"mask": np.zeros((24, 40), np.float32)}, "mask as a torch tensor"),
        ({"mask": torch.zeros(3, 24)}, "mask of shape (24, 40) or"),
        ({"mask": torch.zeros(2, 1, 24, 40)}, "got (2, 1, 24, 40)"),  # two masks, one frame
        ({"mask": torch.zeros(24, 40, dtype=torch.int64)}, "mask values, got int64"),
        ({"mask": torch.full((24, 40), float("nan"))}, "mask has"),
        ({"colour": "rec709"}, "colour must be one of srgb, linear"),
        ({"style": torch.zeros(2, 3, 24, 24), "method": "adain"}, "style tensor of shape"),
        ({"style": torch.zeros(3, 24, 24, dtype=torch.complex64), "method": "adain"}, "complex"),
    ],
)
def test_bad_settings(levels: np.ndarray, kwargs: dict[str, object], words: str) -> None:
    style = kwargs.pop("style", 0)
    with pytest.raises(InputError) as info:
        neuralstyle.stylize(_srgb(levels), style, **kwargs, **CPU)  # type: ignore[arg-type]
    assert words in str(info.value)


def test_linear_integers_are_refused(levels: np.ndarray) -> None:
    for image in (_as(_srgb(levels), torch.uint8), levels):
        with pytest.raises(InputError, match="colour linear is for float pixels"):
            neuralstyle.stylize(image, colour="linear", **CPU)
