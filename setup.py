"""Build hook: the top-level ``resources/`` folder ships inside the package as ``musicsim/resources/``.

Everything else about the build is in pyproject.toml. ``resources/`` (model files, model card, licences,
icons, genre names, desktop files) stays at the top of the source tree; building a wheel (``pip wheel .``,
``pip install .``) copies every file in it, whatever its name, so a new or renamed model file needs no
change here. musicsim reads the copy with ``importlib.resources`` (``musicsim.paths.resources_dir``); an
editable install and a checkout read ``resources/`` in place, a PyInstaller bundle its own copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE = Path(__file__).resolve().parent / "resources"
TARGET = Path("musicsim", "resources")


def resource_files() -> list[Path]:
    """Every file under ``resources/`` (relative), except hidden files and caches."""
    files = []
    for path in sorted(SOURCE.rglob("*")):
        rel = path.relative_to(SOURCE)
        if path.is_file() and not any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            files.append(rel)
    return files


class BuildPyWithResources(build_py):
    """``build_py`` that also copies ``resources/`` to ``musicsim/resources/`` in the build folder."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / TARGET
        shutil.rmtree(target, ignore_errors=True)  # no stale file from an earlier build ships
        for rel in resource_files():
            self.mkpath(str((target / rel).parent))
            self.copy_file(str(SOURCE / rel), str(target / rel))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:  # type: ignore[override]
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        return outputs + [str(Path(self.build_lib) / TARGET / rel) for rel in resource_files()]


setup(cmdclass={"build_py": BuildPyWithResources})
