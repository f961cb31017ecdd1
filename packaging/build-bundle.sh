#!/usr/bin/env bash
# Builds the standalone one-folder bundle dist/musicsim/ (the `musicsim` executable, Python, Qt, torch and
# resources/ inside) with PyInstaller from packaging/musicsim.spec. Build on the system you ship for.
#   packaging/build-bundle.sh          uses .venv (set up by ./run.sh); installs PyInstaller into it if missing
#   PYTHON=/path/python packaging/build-bundle.sh
# Then: packaging/smoke-test.sh checks the bundle; tar -C dist -czf musicsim-linux.tar.gz musicsim ships it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
if ! "$PY" -m PyInstaller --version >/dev/null 2>&1; then
  echo "build-bundle: installing PyInstaller (the 'bundle' extra in pyproject.toml)"
  "$PY" -m pip install -q "pyinstaller>=6.10"
fi
start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/musicsim.spec
echo "build-bundle: dist/musicsim built in $(( $(date +%s) - start )) s, $(du -sh dist/musicsim | cut -f1)"
