#!/usr/bin/env bash
# Set up (first time) and launch musicsim. Arguments go to the `musicsim` command:
#   ./run.sh                  the desktop app
#   ./run.sh ~/Music          the desktop app on that folder
#   ./run.sh scan ~/Music     the command line (see docs/cli.md)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/scripts/setup.sh"
exec "$here/.venv/bin/musicsim" "$@"
