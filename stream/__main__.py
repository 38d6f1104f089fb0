"""``python -m stream`` is the ``piplwatch`` command."""

from stream.cli import main

raise SystemExit(main())
