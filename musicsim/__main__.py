"""``python -m musicsim`` runs the command line (no subcommand: the desktop app)."""

from musicsim.cli import main

raise SystemExit(main())
