#!/usr/bin/env bash
# Set up (first time: the app, plus the test tools and the programs the tests start) and run the test
# suite offscreen. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh --test
export QT_QPA_PLATFORM=offscreen
exec .venv/bin/python -m pytest "$@"
