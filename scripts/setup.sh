#!/usr/bin/env bash
# Sets up musicsim in ./.venv (idempotent; fast when nothing changed).
#   scripts/setup.sh          what the app needs (./run.sh)
#   scripts/setup.sh --test   that, the test tools (pytest, ruff, mypy, ...) and the programs the tests
#                             start (./test.sh, CI)
# System packages (Debian/Ubuntu, with apt-get; elsewhere it says what is missing): Qt's libraries, and
# what building hnswlib needs (a C++ compiler, Python's headers) and creating the venv (python3-venv).
# Environment:
#   PYTHON                the interpreter (default: python3.11, else python3; 3.11 or newer)
#   MUSICSIM_TORCH_INDEX  where PyTorch comes from. Default: a build pip's own configuration offers
#                         without an index (a wheelhouse, find-links), else PyTorch's CPU-only index on
#                         Linux (PyPI's default Linux wheel pulls ~2.7 GB of CUDA libraries), else PyPI.
#                         Set it to an index URL, or to "" for pip's configured index.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=runtime
case "${1:-}" in
  "") ;;
  --test) mode=test ;;
  *) echo "usage: scripts/setup.sh [--test]" >&2; exit 2 ;;
esac

TORCH="torch==2.13.0"
CPU_INDEX="https://download.pytorch.org/whl/cpu"

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "musicsim setup: no Python found; install Python 3.11 or newer (Debian/Ubuntu: apt install python3 python3-venv)" >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "musicsim setup: musicsim needs Python 3.11 or newer; $PYTHON is $("$PYTHON" -V 2>&1). Set PYTHON=..." >&2
  exit 1
fi
pyver="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
debian_python=false
case "$(readlink -f "$(command -v "$PYTHON")")" in /usr/bin/*) debian_python=true ;; esac

# --- system packages -------------------------------------------------------------------------------
apt_packages=(libpulse0 libegl1 libxkbcommon0 libgl1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
              libxcb-keysyms1 libfontconfig1 libdbus-1-3)
# The tests validate the desktop files and drive real programs on a private bus / localhost port.
# (Debian's mpd package starts no daemon on a systemd machine; the tests start their own.)
test_apt_packages=(desktop-file-utils appstream dbus playerctl mpd mpc)
[ "$mode" = test ] && apt_packages+=("${test_apt_packages[@]}")
needs=()  # what only this interpreter's owner can fix, when apt cannot
if [ ! -x .venv/bin/python ] && ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
  if $debian_python; then apt_packages+=("python$pyver-venv"); else needs+=("the venv module with ensurepip for $PYTHON"); fi
fi
if ! ls .venv/lib/python*/site-packages/hnswlib-*.dist-info >/dev/null 2>&1; then
  # hnswlib is published as source only: pip compiles it (about a minute).
  command -v c++ >/dev/null 2>&1 || apt_packages+=(g++)
  if ! "$PYTHON" -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
    if $debian_python; then apt_packages+=("python$pyver-dev"); else needs+=("Python's C headers (Python.h) for $PYTHON"); fi
  fi
fi
if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "musicsim setup: installing system packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
else
  command -v c++ >/dev/null 2>&1 || needs+=("a C++ compiler (to build hnswlib)")
  [ "$mode" = test ] && for prog in desktop-file-validate appstreamcli dbus-run-session playerctl mpd mpc; do
    command -v "$prog" >/dev/null 2>&1 || echo "musicsim setup: note: $prog is missing; the tests that need it are skipped"
  done
fi
if [ ${#needs[@]} -gt 0 ]; then
  printf 'musicsim setup: please install first: %s\n' "${needs[@]}" >&2
  exit 1
fi

# --- Python packages -------------------------------------------------------------------------------
stamp=.venv/.musicsim-setup
want="$(cat pyproject.toml setup.py scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ -x .venv/bin/python ]; then
  read -r have have_mode < "$stamp" || true
  if [ "${have:-}" = "$want" ] && { [ "$mode" = runtime ] || [ "${have_mode:-}" = test ]; }; then
    exit 0
  fi
fi
echo "musicsim setup: installing the Python packages into .venv ($mode; the first run downloads about 400 MB, see README)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip=(.venv/bin/python -m pip)
"${pip[@]}" install -q --upgrade pip wheel "setuptools>=77"

# PyTorch: the CPU build unless told otherwise (the app runs on CUDA too, with a CUDA build of torch).
if "${pip[@]}" show -q torch >/dev/null 2>&1; then
  torch_from=installed
elif [ -n "${MUSICSIM_TORCH_INDEX+set}" ]; then
  torch_from="${MUSICSIM_TORCH_INDEX:-configured}"
elif "${pip[@]}" install -q --dry-run --no-index --no-deps "$TORCH" >/dev/null 2>&1; then
  torch_from=configured  # a local build (find-links / wheelhouse) in pip's own configuration
elif [ "$(uname -s)" = Linux ]; then
  torch_from="$CPU_INDEX"
else
  torch_from=configured  # macOS: PyPI's wheel is the CPU/Metal build
fi
case "$torch_from" in
  installed) ;;
  configured) "${pip[@]}" install -q "$TORCH" ;;
  *)
    if ! "${pip[@]}" install -q --index-url "$torch_from" "$TORCH"; then
      echo "musicsim setup: could not install torch from $torch_from; trying pip's configured index" \
           "(on Linux that may be the ~2.7 GB CUDA build; set MUSICSIM_TORCH_INDEX to choose)" >&2
      "${pip[@]}" install -q "$TORCH"
    fi ;;
esac

if [ "$mode" = test ]; then
  "${pip[@]}" install -q -e ".[test]"
else
  "${pip[@]}" install -q -e .
fi
echo "$want $mode" > "$stamp"
