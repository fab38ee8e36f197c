"""Neural style transfer for compositors: an OpenFX node, a Python API and a CLI over one engine.

>>> import neuralstyle
>>> out = neuralstyle.stylize(image, 3, strength=0.8)  # doctest: +SKIP
>>> [s.name for s in neuralstyle.styles()]  # doctest: +SKIP

Importing the package is cheap and has no side effects (it runs inside compositors): torch and
the networks load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from neuralstyle.api import styles, stylize
    from neuralstyle.training.style_trainer import train_style

__all__ = ["__version__", "styles", "stylize", "train_style"]
__version__ = "0.1.0"


_LAZY = ("styles", "stylize")


def __getattr__(name: str) -> object:
    # PEP 562: the API (and with it torch) is imported when first touched, not with the package.
    if name in _LAZY:
        from neuralstyle import api

        return getattr(api, name)
    if name == "train_style":
        from neuralstyle.training import style_trainer

        return style_trainer.train_style
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    # dir() and tab completion list the lazy names too, without importing them.
    return sorted({*globals(), *__all__})
