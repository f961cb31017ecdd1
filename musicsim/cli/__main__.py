"""``python -m musicsim.cli``: the same as the ``musicsim`` command."""

import sys

from musicsim.cli import main

sys.exit(main())
