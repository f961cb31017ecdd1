"""The built wheel, installed non-editable into a fresh venv, works end to end without the source tree.

What this proves: ``pip wheel`` of the project makes a wheel that carries every file of ``resources/``
(model files, model card, licences, icons, genre names, desktop files) as ``musicsim/resources/``; installed
with pip into a new venv whose only other contents are musicsim's declared runtime dependencies, its
``musicsim`` script finds them there (not in the checkout: it runs from another folder, with no
``PYTHONPATH`` and no ``MUSICSIM_RESOURCES``) and ``scan`` and ``similar`` work on generated audio with the
shipped model; ``install-desktop`` from that venv writes an entry that starts that venv's ``musicsim``.

How, in CI's time: the dependencies are not downloaded or unpacked again. The fresh venv (made without
pip) gets links to exactly the distributions in the closure of the wheel's ``Requires-Dist`` (no extras),
found in the test's own environment (its files and its ``.dist-info``), so pip sees them installed and
resolves the wheel's requirements against them with ``--no-index``: a runtime dependency missing from
pyproject.toml, or code that imports a test-only package, fails here. The wheel is built with
``--no-build-isolation`` (the build tools of the test environment; the build backend is the same
setuptools). Measured on the 2-core development machine (``pytest tests/test_wheel.py --durations=5``):
32 s at load average 10, 89 s while a PyInstaller build ran beside it; the wheel and the venv take 8-31 s
of it, the rest is ``scan`` loading torch and running the shipped model on three short songs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
SOURCE_PARTS = ["pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "musicsim", "resources"]
CACHES = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", "*.egg-info")


def build_wheel(dest: Path) -> Path:
    """``pip wheel`` of a clean copy of the project (a checkout's ``build/`` may hold stale files)."""
    src = dest / "src"
    for part in SOURCE_PARTS:
        if (ROOT / part).is_dir():
            shutil.copytree(ROOT / part, src / part, ignore=CACHES)
        else:
            src.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / part, src / part)
    wheels = dest / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-q", "-w", str(wheels), str(src)], check=True, cwd=dest)
    (wheel,) = wheels.glob("musicsim-*.whl")
    return wheel


def wheel_requirements(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        text = zf.read(name).decode()
    return [Requirement(line.split(":", 1)[1].strip()) for line in text.splitlines()
            if line.startswith("Requires-Dist:")]


def runtime_closure(requirements: list[Requirement]) -> dict[str, metadata.Distribution]:
    """The installed distributions that ``requirements`` (markers evaluated, no extras) need, transitively."""
    env = default_environment()
    found: dict[str, metadata.Distribution] = {}
    todo = [r for r in requirements if r.marker is None or r.marker.evaluate({**env, "extra": ""})]
    while todo:
        req = todo.pop()
        key = re.sub(r"[-_.]+", "-", req.name).lower()
        if key in found:
            continue
        dist = metadata.distribution(req.name)
        assert dist.version in req.specifier or not req.specifier, f"{req} but {dist.version} is installed"
        found[key] = dist
        for line in dist.requires or []:
            sub = Requirement(line)
            if sub.marker is None or sub.marker.evaluate({**env, "extra": ""}):
                todo.append(sub)
    return found


def link_distributions(dists: dict[str, metadata.Distribution], site: Path) -> None:
    """Link each distribution's top-level files and folders (from its RECORD) into ``site``."""
    for dist in dists.values():
        base = Path(str(dist.locate_file("")))
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            if top.endswith(".pth") or not (base / top).exists() or (site / top).exists():
                continue
            (site / top).symlink_to(base / top)


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(work)
    with zipfile.ZipFile(wheel) as zf:
        shipped = {n.removeprefix("musicsim/resources/") for n in zf.namelist() if n.startswith("musicsim/resources/")}
    in_tree = {p.relative_to(ROOT / "resources").as_posix() for p in (ROOT / "resources").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")}
    assert shipped == in_tree, "the wheel must carry every file of resources/"

    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    link_distributions(runtime_closure(wheel_requirements(wheel)), site)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-index", "-q", str(wheel)],
                   check=True)
    return venv


def run_in(venv: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MUSICSIM_RESOURCES", "VIRTUAL_ENV")}
    clean.update(QT_QPA_PLATFORM="offscreen", **env)
    return subprocess.run(args, cwd=cwd, env=clean, capture_output=True, text=True, timeout=600)


def test_fresh_venv_with_the_wheel_scans_and_recommends(fresh_venv: Path, tmp_path: Path, write_song) -> None:
    music = tmp_path / "music"
    for i, (artist, title) in enumerate([("Ash", "One"), ("Birch", "Two"), ("Cedar", "Three")]):
        write_song(music / f"{title}.flac", seed=10 + i, seconds=6.0, title=title, artist=artist)
    data = str(tmp_path / "data")
    bin_ = fresh_venv / "bin"

    where = run_in(fresh_venv, tmp_path, str(bin_ / "python"), "-c",
                   "import musicsim, musicsim.genres as g, musicsim.paths as p; "
                   "print(musicsim.__file__); print(p.resources_dir()); print(len(g.GENRES))")
    assert where.returncode == 0, where.stderr
    module, resources, n_genres = where.stdout.split("\n")[:3]
    assert Path(module).is_relative_to(fresh_venv) and Path(resources).is_relative_to(fresh_venv)
    assert n_genres == "10"
    assert (Path(resources) / "icons" / "musicsim.svg").is_file()

    version = run_in(fresh_venv, tmp_path, str(bin_ / "musicsim"), "--version")
    assert version.returncode == 0 and version.stdout.startswith("musicsim "), version.stderr

    scan = run_in(fresh_venv, tmp_path, str(bin_ / "musicsim"), "--data-dir", data, "scan", str(music))
    assert scan.returncode == 0, scan.stderr
    status = run_in(fresh_venv, tmp_path, str(bin_ / "musicsim"), "--data-dir", data, "status", "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert (report["tracks"], report["analysed"], report["failed"]) == (3, 3, 0)
    assert report["model_version"]  # the shipped model, read from the wheel's package data

    similar = run_in(fresh_venv, tmp_path, str(bin_ / "musicsim"), "--data-dir", data, "similar",
                     str(music / "One.flac"), "--json")
    assert similar.returncode == 0, similar.stderr
    assert sorted(t["title"] for t in json.loads(similar.stdout)) == ["Three", "Two"]


def test_desktop_entry_from_the_venv_starts_that_venvs_musicsim(fresh_venv: Path, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    done = run_in(fresh_venv, tmp_path, str(fresh_venv / "bin" / "musicsim"), "install-desktop",
                  XDG_DATA_HOME=str(xdg))
    assert done.returncode == 0, done.stderr
    (entry,) = (xdg / "applications").glob("*.desktop")
    exec_line = next(line for line in entry.read_text().splitlines() if line.startswith("Exec="))
    assert exec_line == f"Exec={fresh_venv / 'bin' / 'musicsim'} %f"
