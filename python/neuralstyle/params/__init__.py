"""The node's parameters, described once (:mod:`.table`), and what is generated from that table:
the plugin's C++ description (:mod:`.plugin_header`, run by CMake at build time), the command-line
options (:mod:`.options`) and the documentation tables (:mod:`.docs`).

Nothing here imports torch or numpy: CMake runs the generator with a bare interpreter.
"""
