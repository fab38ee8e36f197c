"""Controls artists need, as library functions that wrap any method: colour preservation,
multi-style blending, spatial masks, and stroke scale relative to the full-resolution frame."""

from neuralstyle.controls.blend import mix, mix_layers, normalize_weights
from neuralstyle.controls.preserve_colour import (
    ColourMode,
    MatchColorHistogram,
    RgbToYiq,
    YiqToRgb,
    finish_colour,
    luminance,
    match_color_histogram,
    match_luminance,
    prepare_colour,
    rgb_to_yiq,
    transfer_chroma,
    yiq_to_rgb,
)
from neuralstyle.controls.scale import (
    ProxyMode,
    StrokePlan,
    frame_size_of,
    resize_image,
    resize_long_side,
    stroke_plan,
    upsample_consistent,
)
from neuralstyle.controls.spatial import inside_outside, partition, resize_mask

__all__ = [
    "ColourMode",
    "MatchColorHistogram",
    "ProxyMode",
    "RgbToYiq",
    "StrokePlan",
    "YiqToRgb",
    "finish_colour",
    "frame_size_of",
    "inside_outside",
    "luminance",
    "match_color_histogram",
    "match_luminance",
    "mix",
    "mix_layers",
    "normalize_weights",
    "partition",
    "prepare_colour",
    "resize_image",
    "resize_long_side",
    "resize_mask",
    "rgb_to_yiq",
    "stroke_plan",
    "transfer_chroma",
    "upsample_consistent",
    "yiq_to_rgb",
]
