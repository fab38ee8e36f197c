"""``python -m neuralstyle``: the same as the ``neuralstyle`` command."""

from neuralstyle.cli import main

raise SystemExit(main())
