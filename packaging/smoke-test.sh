#!/usr/bin/env bash
# Smoke test of the PyInstaller bundle, in one command: builds it first when dist/musicsim is missing
# (or with --rebuild), then runs the bundled executable outside the source tree, headless:
# --version, a scan of generated songs with the bundled model, status, similar, and install-desktop
# (its entry must start the bundle). The songs are made with the test suite's generator (needs .venv
# set up by ./test.sh).
#   packaging/smoke-test.sh [--rebuild]
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
PY="${PYTHON:-.venv/bin/python}"
case "$PY" in /*) ;; */*) PY="$root/$PY" ;; esac
bin="$root/dist/musicsim/musicsim"
if [ "${1:-}" = --rebuild ] || [ ! -x "$bin" ]; then packaging/build-bundle.sh; fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$PY" - "$work/music" <<'PYEOF'
import sys
from pathlib import Path
sys.path.insert(0, "tests")
from conftest import write_song
music = Path(sys.argv[1])
for i, (artist, title, ext) in enumerate([("Ash", "One", "flac"), ("Birch", "Two", "mp3"),
                                          ("Cedar", "Three", "ogg"), ("Dogwood", "Four", "m4a")]):
    write_song(music / f"{title}.{ext}", seed=20 + i, seconds=8.0, title=title, artist=artist)
PYEOF

cd "$work"  # nothing from the checkout can be found from here
run() { env -u PYTHONPATH -u MUSICSIM_RESOURCES -u DISPLAY -u WAYLAND_DISPLAY QT_QPA_PLATFORM=offscreen \
          XDG_DATA_HOME="$work/share" "$bin" --data-dir "$work/data" "$@"; }
check() { "$PY" -c "import json, sys; data = json.load(open(sys.argv[1])); assert $1, data" "$2"; }

echo "== --version";       "$bin" --version | tee version.txt; grep -q '^musicsim ' version.txt
echo "== scan";            run scan "$work/music"
echo "== status";          run status --json > status.json; cat status.json; echo
check 'data["tracks"] == data["analysed"] == 4 and data["failed"] == 0 and data["model_version"]' status.json
echo "== similar";         run similar "$work/music/One.flac" --json > similar.json
check 'sorted(t["title"] for t in data) == ["Four", "Three", "Two"]' similar.json
run similar "$work/music/One.flac"
echo "== install-desktop"; run install-desktop > /dev/null
grep -qxF "Exec=$bin %f" "$work/share/applications/io.github.musicsim.musicsim.desktop"
run install-desktop --uninstall > /dev/null
echo "smoke test passed: $bin"
