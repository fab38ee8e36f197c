"""Networks and where their weights come from.

Nothing is built or read at import: construct a network, then load its weights explicitly.
"""

from neuralstyle.models.cin_net import MIN_SIZE, NUM_STYLES, CINNet
from neuralstyle.models.styles import Style, all_styles, resolve_style, style_weights
from neuralstyle.models.weights import load_builtin_weights

__all__ = [
    "MIN_SIZE",
    "NUM_STYLES",
    "CINNet",
    "Style",
    "all_styles",
    "load_builtin_weights",
    "resolve_style",
    "style_weights",
]
