"""``musicsim install-desktop``: the per-user entry, icons and metainfo validate, and --uninstall removes exactly them.

The validators are Debian's own (``desktop-file-validate`` from desktop-file-utils, ``appstreamcli`` from
appstream), run on the files as installed.
"""

from __future__ import annotations

import io
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from musicsim import __version__, freedesktop
from musicsim.cli import main
from musicsim.paths import resources_dir

DESKTOP_DIR = resources_dir() / "desktop"


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def validate_entry(program, path: Path) -> None:
    done = subprocess.run([program("desktop-file-validate"), str(path)], capture_output=True, text=True)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def validate_metainfo(program, path: Path) -> None:
    done = subprocess.run([program("appstreamcli"), "validate", "--no-net", "--pedantic", str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    # infos are allowed (appstream 0.16 does not know <developer> yet); warnings and errors are not
    assert not [line for line in done.stdout.splitlines() if line[:2] in ("W:", "E:")], done.stdout


def test_install_validates_and_uninstall_removes_exactly_those_files(tmp_path: Path, monkeypatch, program) -> None:
    home = tmp_path / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    # the user's own files in the same folders, which neither install nor uninstall may touch
    for own in ("applications/org.example.Other.desktop", "icons/hicolor/48x48/apps/other.png", "metainfo/x.xml"):
        (home / own).parent.mkdir(parents=True, exist_ok=True)
        (home / own).write_text("not musicsim's")
    before = files_under(home)

    code, out, err = run_cli("--data-dir", str(tmp_path / "data"), "install-desktop")
    assert code == 0, err
    added = files_under(home) - before
    assert {str(home / p) for p in added} == {str(p) for p in freedesktop.planned_paths(home)}
    assert out.count("wrote ") == len(added) == 3 + len(freedesktop.ICON_SIZES)

    entry = home / "applications" / f"{freedesktop.APP_ID}.desktop"
    validate_entry(program, entry)
    validate_metainfo(program, home / "metainfo" / f"{freedesktop.APP_ID}.metainfo.xml")
    lines = entry.read_text().splitlines()
    command = freedesktop.launch_command()
    assert f"Exec={' '.join(command)} %f" in lines and f"TryExec={command[0]}" in lines
    assert f"Icon={freedesktop.APP_ID}" in lines

    from PySide6.QtGui import QImage

    for n in freedesktop.ICON_SIZES:
        image = QImage(str(home / "icons" / "hicolor" / f"{n}x{n}" / "apps" / f"{freedesktop.APP_ID}.png"))
        assert (image.width(), image.height()) == (n, n)
        assert image.pixelColor(0, 0).alpha() == 0 and image.pixelColor(n // 2, n // 2).alpha() == 255

    code, out, err = run_cli("--data-dir", str(tmp_path / "data"), "install-desktop", "--uninstall")
    assert code == 0, err
    assert files_under(home) == before
    assert out.count("removed ") == len(added)
    code, out, err = run_cli("--data-dir", str(tmp_path / "data"), "install-desktop", "--uninstall")
    assert code == 0 and out == "" and "Nothing to remove" in err


def test_exec_line_quotes_paths_the_spec_reserves(tmp_path: Path, program) -> None:
    odd = str(tmp_path / 'my "music" $HOME 100% \\ apps' / "bin" / "musicsim")
    value = freedesktop.exec_value([odd])
    quoted = odd.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("%", "%%")
    assert value == ('"' + quoted + '"').replace("\\", "\\\\") + " %f"
    assert freedesktop.exec_value(["/usr/bin/python3", "-m", "musicsim"]) == "/usr/bin/python3 -m musicsim %f"
    paths = freedesktop.install(tmp_path / "share", command=[odd])
    validate_entry(program, paths[0])
    with pytest.raises(ValueError, match="line break"):
        freedesktop.exec_value(["/tmp/a\nb"])


def test_shipped_templates_validate_and_match_the_version(program) -> None:
    validate_entry(program, DESKTOP_DIR / f"{freedesktop.APP_ID}.desktop")
    metainfo = DESKTOP_DIR / f"{freedesktop.APP_ID}.metainfo.xml"
    validate_metainfo(program, metainfo)
    root = ET.parse(metainfo).getroot()
    assert root.findtext("id") == freedesktop.APP_ID
    assert root.findtext("launchable") == f"{freedesktop.APP_ID}.desktop"
    assert root.findtext("provides/binary") == "musicsim"
    assert root.find("releases/release").get("version") == __version__


def test_relative_xdg_data_home_is_ignored(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", "relative/share")
    assert freedesktop.data_home() == tmp_path / ".local" / "share"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "abs"))
    assert freedesktop.data_home() == tmp_path / "abs"
