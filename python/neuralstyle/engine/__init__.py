"""What a render does: request, colour, views over host memory, device, determinism, the render.

Import the submodules you need; this package imports nothing (imports run inside compositors).
"""
