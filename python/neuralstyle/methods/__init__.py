"""Style-transfer methods: how a stylised frame is computed (feed-forward, optimisation, ...)."""

from neuralstyle.methods.builtin import BuiltinStyles, clear_cache, load_builtin

__all__ = ["BuiltinStyles", "clear_cache", "load_builtin"]
