"""``python -m neuralstyle.farm render ...``: the render command, importing nothing heavy before
it has set the GPU and thread environment (what the farm templates run)."""

from neuralstyle.farm.render_command import main

raise SystemExit(main())
