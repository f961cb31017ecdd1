"""The playlist commands (similar, export, mix, path, radio): every option, the JSON shapes of docs/cli.md,
playlist files, the "Using: ..." line, and their errors — on real audio scanned with a real model."""

from __future__ import annotations

import io
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from musicsim.cli import main

ROW = {"path", "title", "artist", "album", "genre", "score"}
XSPF = "{http://xspf.org/ns/0/}"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, music_dir: Path, model_file: Path) -> tuple[list[str], Path]:
    """The six test songs scanned into one library: ``(common options, music folder)``."""
    import shutil

    root = tmp_path_factory.mktemp("cli-playlists")
    music = root / "music"
    shutil.copytree(music_dir, music)
    common = ["--data-dir", str(root / "data"), "--model", str(model_file), "--device", "cpu"]
    code, _, err = run("scan", str(music), "--workers", "1", *common)
    assert code == 0 and "Analysed 6 tracks" in err
    return common, music


def rows(out: str) -> list[dict]:
    found = json.loads(out)
    assert isinstance(found, list) and all(set(r) == ROW for r in found)
    return found


def test_similar_and_export_take_every_playlist_option(library: tuple[list[str], Path], tmp_path: Path) -> None:
    common, music = library
    code, out, err = run("similar", "deep water", "--json", "--max-per-artist", "0", *common)
    everything = rows(out)
    assert code == 0 and len(everything) == 5 and err == ""  # one match: nothing said on stderr
    assert "Deep Water" not in {r["title"] for r in everything}

    _, out, _ = run("similar", "deep water", "--json", "--max-per-album", "1", *common)
    assert [r["album"] for r in rows(out)].count("Dawn") == 1  # Alpha Band's two songs share "Dawn"
    _, out, _ = run("similar", "deep water", "--json", "--max-per-artist", "1", *common)
    assert [r["artist"] for r in rows(out)].count("Alpha Band") == 1
    genre = everything[0]["genre"]
    _, out, _ = run("similar", "deep water", "--json", "--exclude-genre", genre.upper(), "--exclude-genre", "polka",
                    "--max-per-artist", "0", *common)
    assert rows(out) == [r for r in everything if r["genre"] != genre]
    _, out, _ = run("similar", "deep water", "--json", "--min-duration", "10", *common)
    assert {r["title"] for r in rows(out)} == {"Neon Rain", "Quiet Field", "Iron Gate"}  # 10.5, 12 and 13.5 s
    _, out, _ = run("similar", "deep water", "--json", "--max-duration", "8", *common)
    assert {r["title"] for r in rows(out)} == {"First Light", "Second Wind"}  # 6 and 7.5 s
    _, out, _ = run("similar", "deep water", "--json", "--exclude-folder", str(music / "Alpha Band"),
                    "--exclude-folder", str(music / "Gamma"), *common)
    assert {r["title"] for r in rows(out)} == {"Quiet Field", "Iron Gate"}
    _, out, _ = run("similar", "deep water", "--json", "--in", str(music / "Alpha Band"), *common)
    assert {r["title"] for r in rows(out)} == {"First Light", "Second Wind"}
    _, out, _ = run("similar", "deep water", "-n", "2", "--json", *common)
    assert [r["path"] for r in rows(out)] == [r["path"] for r in everything[:2]]

    code, out, err = run("similar", "deep water", "--out", str(tmp_path / "like.xspf"), "--include-seed", *common)
    listed = [unquote_location(t.find(f"{XSPF}location").text)
              for t in ET.parse(tmp_path / "like.xspf").getroot().iter(f"{XSPF}track")]
    assert code == 0 and listed == [str(music / "Beta" / "Deep Water.ogg")] + [r["path"] for r in everything]
    assert "Like: Beta Ensemble - Deep Water" in err and "Wrote 6 tracks" in err and len(out.splitlines()) == 5

    code, _, err = run("export", "deep water", "--out", str(tmp_path / "like.m3u8"), "--max-duration", "8", *common)
    lines = (tmp_path / "like.m3u8").read_text(encoding="utf-8").splitlines()
    assert code == 0 and lines[0] == "#EXTM3U" and len(lines) == 2 + 2 * 2 and "Wrote 2 tracks like" in err
    code, _, err = run("export", "deep water", "--out", str(tmp_path / "like.xspf"), "-n", "1", *common)
    assert code == 0 and len(list(ET.parse(tmp_path / "like.xspf").getroot().iter(f"{XSPF}track"))) == 1


def unquote_location(uri: str) -> str:
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(uri).path)


def test_a_query_matching_several_tracks_says_which_it_used(library: tuple[list[str], Path]) -> None:
    common, _ = library
    code, out, err = run("similar", "alpha band", "--json", *common)
    assert code == 0 and rows(out)  # stdout stays JSON
    assert err == ('Using: Alpha Band - First Light (2 tracks match "alpha band"; others: Alpha Band - Second Wind; '
                   "give a path or more words)\n")
    code, _, err = run("similar", "alpha band second", *common)
    assert code == 0 and "Using:" not in err and "Like: Alpha Band - Second Wind" in err


def test_mix_path_and_radio(library: tuple[list[str], Path], tmp_path: Path) -> None:
    common, music = library
    code, out, err = run("mix", "deep water", "iron gate", "-n", "4", "--json", "--max-per-artist", "0", *common)
    mixed = rows(out)
    assert code == 0 and len(mixed) == 4 and not {"Deep Water", "Iron Gate"} & {r["title"] for r in mixed}
    code, out, err = run("mix", "deep water", "iron gate", "--minus", "neon rain", "--json", *common)
    assert code == 0 and "Neon Rain" not in {r["title"] for r in rows(out)}
    code, out, err = run("mix", "deep water", "iron gate", "-n", "2", *common)
    assert code == 0 and "Mix of: Beta Ensemble - Deep Water, Epsilon - Iron Gate" in err and len(out.splitlines()) == 2
    code, _, err = run("mix", "deep water", "iron gate", "--min-duration", "100", *common)
    assert code == 0 and "Only 0 tracks pass the filters here (asked for 10)" in err

    code, out, err = run("path", "first light", "iron gate", "-n", "4", "--json", "--max-per-artist", "0", *common)
    way = rows(out)
    assert code == 0 and 2 <= len(way) <= 4
    assert (way[0]["title"], way[-1]["title"], way[0]["score"]) == ("First Light", "Iron Gate", 1.0)
    assert len({r["path"] for r in way}) == len(way)
    assert (len(way) < 4) == ("Only" in err)  # a journey shorter than asked says so
    code, out, err = run("path", "first light", "iron gate", "-n", "2", "--out", str(tmp_path / "way.m3u8"), *common)
    assert code == 0 and "Journey: Alpha Band - First Light -> Epsilon - Iron Gate" in err
    assert (tmp_path / "way.m3u8").read_text(encoding="utf-8").splitlines()[3::2] == [
        str(music / "Alpha Band" / "First Light.wav"), str(music / "Epsilon" / "Iron Gate.m4a")]

    code, out, err = run("radio", "deep water", "--count", "3", "--json", *common)
    played = rows(out)
    assert code == 0 and len(played) == 3 and "Deep Water" not in {r["title"] for r in played} and err == ""
    code, out, err = run("radio", "deep water", "--count", "20", "--json", "--max-per-artist", "0", *common)
    assert code == 0 and len(rows(out)) == 5 and "Only 5 tracks pass the filters here (asked for 20)" in err
    assert rows(out)[:3] == played  # the same radio plays the same songs
    code, out, err = run("radio", "deep water", "quiet field", "--count", "4", "--in", str(music),
                         "--out", str(tmp_path / "radio.xspf"), *common)
    assert code == 0 and "Radio from: Beta Ensemble - Deep Water, Delta Folk - Quiet Field" in err
    assert len(list(ET.parse(tmp_path / "radio.xspf").getroot().iter(f"{XSPF}track"))) == 4 == len(out.splitlines())


def test_playlist_option_errors_are_one_line(library: tuple[list[str], Path], tmp_path: Path) -> None:
    common, _ = library
    for argv, message in [
        (["similar", "deep water", "-n", "0"], "-n must be at least 1."),
        (["path", "deep water", "iron gate", "-n", "1"], "-n must be at least 2."),
        (["radio", "deep water", "--count", "0"], "--count must be at least 1."),
        (["path", "deep water", "Deep Water"], "FROM and TO are the same track"),
        (["mix", "deep water", "--max-per-artist", "-1"], "--max-per-artist must be 0 (no limit) or more."),
        (["similar", "deep water", "--min-duration", "10", "--max-duration", "5"], "--min-duration is longer"),
        (["similar", "deep water", "--out", str(tmp_path / "list.txt")], "a playlist file name ends in .m3u8"),
        (["radio", "no such song"], 'No track in the library matches "no such song".'),
    ]:
        code, out, err = run(*argv, *common)
        assert code == 1 and message in err and err.count("\n") == 1 and "Traceback" not in err, argv
    assert not (tmp_path / "list.txt").exists()
    with pytest.raises(SystemExit) as exc:
        run("export", "deep water", *common)  # --out is required
    assert exc.value.code == 2
