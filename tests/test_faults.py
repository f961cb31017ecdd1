"""Faults a hostile or unlucky user meets, reproduced with real files, real mounts and real processes.

Each test reproduces one case of the faults issue (numbered as there, most severe first) and checks
the message, the exit code and that nothing was lost: catalogue rows, index contents, the user's music
files (hashes before and after). Read-only media are read-only bind mounts and full disks small tmpfs
mounts (root bypasses file permissions, so chmod proves nothing for root); tests that need mounts skip,
saying why, where mounting is not allowed. docs/reliability.md maps each promise to its test here.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import logging
import os
import re
import shutil
import signal
import sqlite3
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from conftest import SONGS, synth_song, write_song
from musicsim.audio.decode import load_windows
from musicsim.audio.encode import encode
from musicsim.cli import main
from musicsim.fileio import WriteError, atomic_output, sha256_file
from musicsim.library import catalogue as catalogue_module
from musicsim.library.catalogue import AnalysisRow, Catalogue, CatalogueWriteError, ModelInfo
from musicsim.library.index import IndexStore, VectorIndex, sidecar_path
from musicsim.library.library import Library
from musicsim.library.playlist import check_target, m3u8_text, xspf_text
from musicsim.library.records import Track
from musicsim.library.scanner import FoundFile, walk_audio
from musicsim.library.tags import TagInfo
from musicsim.library.writer import WriterLock

REPO = Path(__file__).resolve().parents[1]
HOSTILE = "\x1b]0;pwned\x07\x1b[2J"  # retitles the terminal and clears it
VERSION = "test-1"


# -- helpers ------------------------------------------------------------------------------------


def run(*argv: str, err: io.StringIO | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), err or io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def common(data: Path, model: Path) -> list[str]:
    return ["--data-dir", str(data), "--model", str(model), "--device", "cpu"]


def file_hashes(root: Path) -> dict[str, str]:
    """Every file under ``root`` (relative path -> SHA-256): the user's music, before and after."""
    return {str(p.relative_to(root)): sha256_file(p) for p in sorted(root.rglob("*")) if p.is_file()}


def catalogue_rows(data: Path) -> list[tuple]:
    """Every stored row that matters (tracks with their analysis, skipped entries, meta), read from the
    writable original of a library."""
    with contextlib.closing(sqlite3.connect(data / "catalogue.sqlite3")) as conn:
        tracks = conn.execute("SELECT id, path, size, mtime_ns, title, artist, album, status, error, model_version, "
                              "embedding, genre_probs, tag_probs, stamp FROM tracks ORDER BY id").fetchall()
        skipped = conn.execute("SELECT path, reason FROM skipped ORDER BY path").fetchall()
        meta = conn.execute("SELECT key, value FROM meta ORDER BY key").fetchall()
    return [*tracks, *skipped, *meta]


def index_state(data: Path) -> tuple[str, str]:
    return sha256_file(data / "index.hnsw"), (data / "index.hnsw.json").read_text()


@contextlib.contextmanager
def musicsim_warnings(level: int = logging.WARNING) -> Iterator[list[str]]:
    """Messages the engine logs at ``level`` and above (the CLI's logging set-up stops propagation, so
    caplog cannot see them)."""
    messages: list[str] = []
    handler = logging.Handler(level)
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("musicsim")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(min(level, logger.level or level))
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def no_escapes(*texts: str) -> None:
    for text in texts:
        assert "\x1b" not in text and "\x07" not in text, repr(text)


def mount_error() -> str | None:
    """Why mounts cannot be used in this sandbox (None: they can)."""
    if os.name != "posix" or os.geteuid() != 0:
        return "needs root (read-only bind mounts and small tmpfs disks are made with mount)"
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", tmp], capture_output=True, text=True)
        if proc.returncode != 0:
            return f"mount is not allowed here ({proc.stderr.strip()})"
        subprocess.run(["umount", tmp], check=True)
    return None


MOUNT_ERROR = mount_error() if sys.platform.startswith("linux") else "mounts are made with Linux's mount"
needs_mounts = pytest.mark.skipif(MOUNT_ERROR is not None, reason=f"mount tests skipped: {MOUNT_ERROR}")


def _umount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], check=True)  # something still open: detach lazily


@contextlib.contextmanager
def read_only_view(source: Path, view: Path) -> Iterator[Path]:
    """``source`` seen read-only at ``view`` (a read-only bind mount: root cannot write there either)."""
    view.mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(source), str(view)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True)
        yield view
    finally:
        _umount(view)


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "2m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``folder``: a disk that fills up."""
    folder.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        _umount(folder)


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill ``folder``'s disk, leaving about ``leave`` bytes free; returns the filler file."""
    filler = folder / "filler.bin"
    with open(filler, "wb", buffering=0) as f:
        while (free := shutil.disk_usage(folder).free) > leave:
            try:
                f.write(b"\0" * min(1 << 16, max(4096, free - leave)))
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
    return filler


def _scan_process(folder: Path, data: Path, model: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "musicsim.cli", "scan", str(folder), *common(data, model), "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO), **env))


def _count(data: Path, where: str = "status = 'analysed'") -> int:
    try:
        with contextlib.closing(sqlite3.connect(f"{(data / 'catalogue.sqlite3').as_uri()}?mode=ro", uri=True,
                                                timeout=10)) as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM tracks WHERE {where}").fetchone()[0])
    except sqlite3.OperationalError:  # not made yet
        return 0


def _wait(condition, proc: subprocess.Popen | None = None, timeout: float = 120.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None:
            assert proc.poll() is None, (what, proc.communicate())
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def analysed_template(music_dir: Path, model_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library of ``music_dir``'s six songs, scanned and analysed once for this module (copy it)."""
    data = tmp_path_factory.mktemp("template") / "data"
    code, _, err = run("scan", str(music_dir), *common(data, model_file), "--workers", "1")
    assert code == 0, err
    return data


@pytest.fixture
def library(analysed_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the analysed library's data folder (its music is the shared ``music_dir``)."""
    data = tmp_path / "data"
    shutil.copytree(analysed_template, data)
    return data


# =============================================================================================
# 1. A read-only or full data folder is not "corrupt": reading works, writing says why.


@needs_mounts
def test_read_only_library_reads_and_refuses_to_scan_in_plain_words(library: Path, music_dir: Path,
                                                                    model_file: Path, tmp_path: Path) -> None:
    music, rows, index = file_hashes(music_dir), catalogue_rows(library), index_state(library)
    expected = {cmd: run(*cmd.split(), "--json", *common(library, model_file))[1]
                for cmd in ("status", "genres", "problems", "similar deep")}
    names = sorted(p.name for p in library.iterdir())
    with read_only_view(library, tmp_path / "ro") as ro:
        for cmd in ("status", "genres", "problems", "similar deep"):
            code, out, err = run(*cmd.split(), "--json", *common(ro, model_file))
            assert code == 0, err
            got, want = json.loads(out), json.loads(expected[cmd])
            if cmd == "status":
                assert got.pop("read_only") == "the disk is read-only" and want.pop("read_only") is None
            assert got == want, cmd
        code, out, err = run("status", *common(ro, model_file))
        assert code == 0 and "Read-only:     yes: the disk is read-only" in out
        code, _, err = run("export", "deep", "--out", str(tmp_path / "like deep.m3u8"), *common(ro, model_file))
        assert code == 0 and (tmp_path / "like deep.m3u8").read_text().startswith("#EXTM3U")
        code, _, err = run("scan", str(music_dir), *common(ro, model_file))
        assert code == 1
        assert f"The library in {ro} can only be read: the disk is read-only." in err
        assert "The catalogue is fine." in err and "Reading commands" in err
        assert "not a musicsim catalogue" not in err and "move it away" not in err and "Traceback" not in err
    assert sorted(p.name for p in library.iterdir()) == names  # nothing written there
    assert catalogue_rows(library) == rows and index_state(library) == index and file_hashes(music_dir) == music


@needs_mounts
def test_read_only_library_with_a_wal_left_by_a_killed_scan_still_reads(library: Path, model_file: Path,
                                                                       tmp_path: Path) -> None:
    """A scan killed on a disk that later became read-only: -wal and -shm exist (SQLite's mode=ro reads them);
    without them SQLite cannot open a WAL database read-only at all (immutable=1 is used)."""
    holder = sqlite3.connect(library / "catalogue.sqlite3")  # an open connection keeps -wal and -shm there
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("SELECT COUNT(*) FROM tracks").fetchone()
    try:
        assert (library / "catalogue.sqlite3-shm").exists()
        with read_only_view(library, tmp_path / "ro") as ro:
            code, out, err = run("status", "--json", *common(ro, model_file))
            assert code == 0 and json.loads(out)["analysed"] == 6, err
            with Library(ro, model_file) as lib:
                assert lib.read_only and lib.catalogue._mode == "ro"
    finally:
        holder.close()
    with read_only_view(library, tmp_path / "ro2") as ro:
        with Library(ro, model_file) as lib:
            assert lib.catalogue._mode == "immutable" and len(lib.tracks()) == 6


@needs_mounts
def test_full_disk_library_reads_and_says_how_much_room_a_scan_needs(library: Path, music_dir: Path,
                                                                    model_file: Path, tmp_path: Path) -> None:
    music, rows, index = file_hashes(music_dir), catalogue_rows(library), index_state(library)
    with small_disk(tmp_path / "disk") as disk:
        data = disk / "data"
        shutil.copytree(library, data)
        fill(disk)
        assert shutil.disk_usage(disk).free < 4096
        code, out, err = run("status", "--json", *common(data, model_file))
        assert code == 0 and json.loads(out)["tracks"] == 6 and json.loads(out)["read_only"].startswith(
            "the disk is full"), err
        assert "Traceback" not in err and "Logging error" not in err  # a log file that cannot grow is one warning
        code, out, err = run("similar", "deep", "--json", *common(data, model_file))
        assert code == 0 and len(json.loads(out)) == 5
        code, _, err = run("scan", str(music_dir), *common(data, model_file))
        assert code == 1 and "can only be read: the disk is full (" in err
        assert re.search(r"the disk is full \(\d+ bytes free, about [\d.]+ MB needed\)", err), err
        assert "not a musicsim catalogue" not in err and "disk I/O error" not in err
        (disk / "filler.bin").unlink()
        assert catalogue_rows(data) == rows and index_state(data) == index
    assert file_hashes(music_dir) == music


@needs_mounts
def test_disk_filling_up_mid_scan_stops_in_plain_words_and_keeps_every_stored_row(
        library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    many = tmp_path / "many"
    many.mkdir()
    for i in range(3000):  # not audio: catalogued from their names, never decoded
        (many / f"clip {i:04d} with a fairly long file name to fill the pages.mp3").write_bytes(b"x" * 10)
    rows = catalogue_rows(library)
    with small_disk(tmp_path / "disk", "3m") as disk:
        data = disk / "data"
        shutil.copytree(library, data)
        fill(disk, leave=200_000)
        monkeypatch.setattr(catalogue_module, "MIN_FREE_BYTES", 0)  # let it start, so the disk fills during the scan
        with Library(data) as lib:
            assert not lib.read_only
            with pytest.raises(CatalogueWriteError) as caught:
                lib.sync_folder(many)
        message = str(caught.value)
        assert f"Cannot write to the catalogue {data / 'catalogue.sqlite3'}: the disk is full (" in message
        assert re.search(r"\(\d[\d.]* (bytes|kB) free, about [\d.]+ MB needed\)", message), message
        assert "Everything stored before is kept" in message
        (disk / "filler.bin").unlink()
        with Library(data) as lib:
            assert lib.catalogue.conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            kept = catalogue_rows(data)
            assert kept[:6] == rows[:6] and len(kept) > len(rows)  # the six analysed tracks, and the stored batches
            lib.sync_folder(many)  # with room, the scan goes on
            assert len(lib.tracks()) == 6 + 3000


def test_only_a_file_that_is_not_a_catalogue_is_called_one(tmp_path: Path, model_file: Path) -> None:
    for name, content in (("garbage", b"this is not sqlite" * 100), ("other", None)):
        data = tmp_path / name
        data.mkdir()
        if content is None:
            with contextlib.closing(sqlite3.connect(data / "catalogue.sqlite3")) as conn:
                conn.execute("CREATE TABLE recipes (name TEXT)")
                conn.commit()
        else:
            (data / "catalogue.sqlite3").write_bytes(content)
        before = sha256_file(data / "catalogue.sqlite3")
        code, _, err = run("status", *common(data, model_file))
        assert code == 1 and "is not a musicsim catalogue" in err, err
        assert sha256_file(data / "catalogue.sqlite3") == before


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root to run a command as another user (setpriv)")
def test_library_without_write_permission_reads_as_another_user(analysed_template: Path) -> None:
    """Without root's override SQLite says "attempt to write a readonly database": musicsim reads instead."""
    shared = Path(tempfile.mkdtemp(prefix="musicsim-shared-"))
    try:
        os.chmod(shared, 0o755)
        data = shared / "data"
        shutil.copytree(analysed_template, data)
        for p in [data, *data.iterdir()]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        rows = catalogue_rows(data)
        env = dict(os.environ, PYTHONPATH=str(REPO), HOME=str(shared))
        base = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "musicsim.cli"]
        args = ["--data-dir", str(data), "--model", str(shared / "no-model.pt")]
        proc = subprocess.run([*base, "status", "--json", *args], capture_output=True, text=True, env=env, cwd=REPO)
        assert proc.returncode == 0, proc.stderr
        status = json.loads(proc.stdout)
        assert status["tracks"] == 6 and status["read_only"].startswith("permission denied")
        proc = subprocess.run([*base, "scan", str(shared), *args], capture_output=True, text=True, env=env, cwd=REPO)
        assert proc.returncode == 1 and "can only be read: permission denied" in proc.stderr
        assert "not a musicsim catalogue" not in proc.stderr
        assert catalogue_rows(data) == rows
    finally:
        shutil.rmtree(shared)


# =============================================================================================
# 2. Playlist injection: one entry per track, whatever a file name holds.

EVIL_NAMES = [
    "plain song.wav",
    "two\nlines.wav",
    "fake\n#EXTINF:1,Injected\nhttp:\u2215\u2215evil.example\u2215x.wav",
    "carriage\rreturn.wav",
    f"escape {HOSTILE}.wav",
    "para\u2029graph & <tag>.wav",
    "nel\x85line.wav",
    "tab\there.wav",
]


def _m3u_entries(text: str) -> list[str]:
    """What a player reads from an M3U: every non-empty line not starting with '#' (a Python player
    also splits on U+2028/U+2029/U+0085, as str.splitlines does)."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _path_of(entry: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlparse(entry).path) if entry.startswith("file://") else entry


@pytest.fixture
def evil_library(tmp_path: Path, model_file: Path) -> tuple[Path, Path]:
    music = tmp_path / "evil music"
    for i, name in enumerate(EVIL_NAMES):
        write_song(music / name, seed=40 + i, seconds=3.0 + 1.5 * i, title=f"Title{i}\n#EXTINF:0,x\nhttp://evil/{i}",
                   artist=f"Artist {i} & <b>", album=f"Album{HOSTILE}")
    data = tmp_path / "data"
    code, _, err = run("scan", str(music), *common(data, model_file), "--workers", "1")
    assert code == 0 and "Analysed 8 tracks, 0 failed" in err, err
    return music, data


def test_every_playlist_writer_makes_one_entry_per_track(evil_library: tuple[Path, Path], model_file: Path,
                                                         tmp_path: Path) -> None:
    music, data = evil_library
    songs = {str(p) for p in music.iterdir()}
    assert len(songs) == len(EVIL_NAMES)
    seed = str(music / "plain song.wav")
    m3u, xspf = tmp_path / "like plain.m3u8", tmp_path / "like plain.xspf"
    for out in (m3u, xspf):
        code, _, err = run("export", seed, "--out", str(out), "-n", "20", "--max-per-artist", "0", "--include-seed",
                           *common(data, model_file))
        assert code == 0, err
    entries = _m3u_entries(m3u.read_text(encoding="utf-8"))
    assert len(entries) == len(songs) and {_path_of(e) for e in entries} == songs
    assert not any(e.startswith("http") for e in entries)
    assert sum(line.startswith("#EXTINF") for line in m3u.read_text(encoding="utf-8").split("\n")) == len(songs)
    assert entries[0] == seed  # a plain path stays a plain path
    tree = ET.parse(xspf)  # valid XML
    ns = {"x": "http://xspf.org/ns/0/"}
    tracks = tree.getroot().findall("x:trackList/x:track", ns)
    assert len(tracks) == len(songs)
    assert {_path_of(t.findtext("x:location", namespaces=ns)) for t in tracks} == songs
    first = tracks[0]
    assert first.findtext("x:title", namespaces=ns).startswith("Title") and "\n" not in first.findtext("x:title",
                                                                                                        namespaces=ns)
    assert first.findtext("x:creator", namespaces=ns).startswith("Artist ") and "<b>" in first.findtext(
        "x:creator", namespaces=ns)
    assert first.findtext("x:album", namespaces=ns) == "Album ]0;pwned [2J"  # controls become spaces, text kept
    assert abs(int(first.findtext("x:duration", namespaces=ns)) - 3000) < 50


def test_playlist_text_rule_covers_every_line_breaker() -> None:
    names = ["/m/a\u2028b.mp3", "/m/a\x0bb.mp3", "/m/a\x0cb.mp3", "/m/a\x1cb.mp3", "/m/ok.mp3", "/m/#hash.mp3"]
    tracks = [Track(i, p, f"t\u2028{i}", "", "", None, 61.0, "analysed") for i, p in enumerate(names)]
    text = m3u8_text(tracks, title="Mix\nwith #EXTINF:9,x")
    entries = _m3u_entries(text)
    assert [_path_of(e) for e in entries] == names and entries[4:] == ["/m/ok.mp3", "/m/#hash.mp3"]
    assert text.count("\n") == 2 + 2 * len(names) and "\u2028" not in text
    root = ET.fromstring(xspf_text(tracks, title="Mix\x00\x01 &"))
    assert root.findtext("{http://xspf.org/ns/0/}title") == "Mix &"


# =============================================================================================
# 3. An index from another catalogue is never trusted.


def _similar_json(data: Path, model: Path, seed: str) -> list[dict]:
    return _similar_and_warnings(data, model, seed)[0]


def _similar_and_warnings(data: Path, model: Path, seed: str) -> tuple[list[dict], str]:
    code, out, err = run("similar", seed, "--json", "--max-per-artist", "0", *common(data, model))
    assert code == 0, err
    return json.loads(out), err


def test_an_index_copied_from_another_library_is_rebuilt(library: Path, tmp_path: Path, model_file: Path) -> None:
    other_music = tmp_path / "other"
    for name, title, artist, album, track, seed, seconds in SONGS:  # the same ids 1..6, other sounds
        write_song(other_music / Path(name).with_suffix(".wav"), seed + 50, seconds, title=title, artist=artist)
    other = tmp_path / "other-data"
    code, _, err = run("scan", str(other_music), *common(other, model_file), "--workers", "1")
    assert code == 0, err
    seed = str(other_music / "Beta" / "Deep Water.wav")
    own = _similar_json(other, model_file, seed)
    with Library(other, model_file) as lib:
        own_id = lib.catalogue.catalogue_id
    assert own_id and json.loads((other / "index.hnsw.json").read_text())["catalogue_id"] == own_id

    generation = json.loads((other / "index.hnsw.json").read_text())["generation"]
    for variant in ("with its id", "an old sidecar without an id"):
        shutil.copy2(library / "index.hnsw", other / "index.hnsw")
        meta = json.loads((library / "index.hnsw.json").read_text())
        if variant != "with its id":
            del meta["catalogue_id"]
            meta["generation"] = generation  # not newer than the catalogue: the old check trusted it
        (other / "index.hnsw.json").write_text(json.dumps(meta))
        found, warnings = _similar_and_warnings(other, model_file, seed)
        assert found == own, variant
        assert "does not fit this catalogue" in warnings and "rebuilt" in warnings, (variant, warnings)
        saved = json.loads((other / "index.hnsw.json").read_text())
        assert saved["catalogue_id"] == own_id and saved["sha256"] == sha256_file(other / "index.hnsw")
        index = VectorIndex.load(other / "index.hnsw", saved["dim"], VERSION, saved["generation"])
        with Library(other, model_file) as lib:
            ids, matrix = lib.embeddings()
            assert np.allclose(index.vectors(ids.tolist()), matrix, atol=1e-5)  # this catalogue's vectors now


# =============================================================================================
# 4. An index save on a full disk keeps the old file and says so.


def _indexed_catalogue(folder: Path, n: int, dim: int = 32) -> Catalogue:
    cat = Catalogue(folder / "catalogue.sqlite3")
    cat.register_model(ModelInfo("v1", [f"g{i}" for i in range(10)], [], dim))
    with cat.transaction() as conn:
        ids = [cat.add(conn, FoundFile(f"/m/{i}.wav", 1, 1), TagInfo(f"t{i}", "", "", None, 1.0)) for i in range(n)]
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cat.write_results("v1", [AnalysisRow(i, v, np.eye(10, dtype=np.float32)[0], np.zeros(0, np.float32), 1)
                             for i, v in zip(ids, vectors)])
    return cat


@needs_mounts
@pytest.mark.parametrize("room", [0, 20_000], ids=["no-room", "room-for-part"])
def test_index_save_on_a_full_disk_keeps_the_old_index(tmp_path: Path, room: int) -> None:
    cat = _indexed_catalogue(tmp_path, 300)
    with small_disk(tmp_path / "disk", "1m") as disk:
        path = disk / "index.hnsw"
        store = IndexStore(cat, path)
        assert store.count("v1") == 300 and path.stat().st_size > 50_000
        old = (sha256_file(path), sidecar_path(path).read_text())
        cat.write_results("v1", [AnalysisRow(5, np.ones(32, np.float32) / np.sqrt(32), np.zeros(10, np.float32),
                                             np.zeros(0, np.float32), 1)])
        assert store.count("v1") == 300
        fill(disk, leave=room)
        with musicsim_warnings() as warnings:
            assert store.save() is False
        message = " ".join(warnings)
        assert f"cannot write {path}: " in message and "the disk is full" in message, message
        assert "the index file on disk is left as it was" in message and ".tmp" not in message
        assert (sha256_file(path), sidecar_path(path).read_text()) == old  # the old index, whole
        assert sorted(p.name for p in disk.iterdir()) == ["filler.bin", "index.hnsw", "index.hnsw.json"]
        (disk / "filler.bin").unlink()
        fresh = IndexStore(cat, path)  # the old file loads and is caught up
        assert fresh.count("v1") == 300
        assert fresh.save() and VectorIndex.load(path, 32, "v1", cat.generation()) is not None


class _SaveThen:
    """An hnswlib index whose ``save_index`` damages what it wrote (as a full disk does)."""

    def __init__(self, real: object, damage) -> None:
        self._real, self._damage = real, damage

    def __getattr__(self, name: str):
        return getattr(self._real, name)

    def save_index(self, name: str) -> None:
        self._real.save_index(name)
        self._damage(name)


def test_a_short_or_unloadable_index_file_is_refused_before_the_rename(tmp_path: Path) -> None:
    index = VectorIndex(8, "v1", 1)
    index.add(np.arange(1, 51), np.random.default_rng(1).standard_normal((50, 8)).astype(np.float32))
    path = tmp_path / "index.hnsw"
    index.save(path)
    good = sha256_file(path)
    real = index._index
    index._index = _SaveThen(real, lambda name: os.truncate(name, 0))  # hnswlib "succeeds" with 0 bytes
    with pytest.raises(WriteError, match=r"only 0 of at least \d+ bytes were written"):
        index.save(path)
    assert sha256_file(path) == good
    index._index = _SaveThen(real, lambda name: Path(name).write_bytes(Path(name).read_bytes()[:-40]))
    with pytest.raises(WriteError, match=r"only \d+ of at least \d+ bytes|does not load back|differs"):
        index.save(path)
    assert sha256_file(path) == good and sorted(p.name for p in tmp_path.iterdir()) == ["index.hnsw",
                                                                                       "index.hnsw.json"]


# =============================================================================================
# 5. Deep folders: an iterative walk, and what cannot be entered is listed.


def _mkdirs(base: Path, names: list[str]) -> tuple[int, list[str]]:
    """Make nested folders ``names`` under ``base`` through directory fds (paths may pass PATH_MAX);
    returns an fd of the deepest one (close it) and the path parts."""
    fd = os.open(base, os.O_RDONLY)
    for name in names:
        os.mkdir(name, dir_fd=fd)
        new = os.open(name, os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = new
    return fd, names


def remove_tree(root: Path) -> None:
    """``shutil.rmtree`` without recursion (it recurses per level: 1000 levels overflow Python's stack,
    pytest's clean-up of old temporary folders included), through directory fds (paths past PATH_MAX)."""
    fds = [os.open(root, os.O_RDONLY | os.O_DIRECTORY)]
    names: list[str] = []
    while fds:
        fd, sub = fds[-1], None
        for name in os.listdir(fd):
            if stat.S_ISDIR(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
                sub = name
                break
            os.unlink(name, dir_fd=fd)
        if sub is not None:
            fds.append(os.open(sub, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd))
            names.append(sub)
            continue
        os.close(fds.pop())
        if names:
            os.rmdir(names.pop(), dir_fd=fds[-1])
    os.rmdir(root)


@pytest.fixture
def deep_music(tmp_path: Path) -> Iterator[Path]:
    music = tmp_path / "deep"
    music.mkdir()
    try:
        yield music
    finally:
        remove_tree(music)


def test_a_thousand_nested_folders_are_catalogued(deep_music: Path, tmp_path: Path, model_file: Path) -> None:
    music = deep_music
    fd, _ = _mkdirs(music, ["d"] * 1000)  # Path.mkdir(parents=True) would itself recurse too deep
    os.close(fd)
    deep = music.joinpath(*["d"] * 1000)
    os.rename(write_song(tmp_path / "bottom.wav", seed=1, seconds=3.0), deep / "bottom.wav")  # libsndfile
    # cannot open a path this long for writing (its limit is 1024 bytes); reading is musicsim's job
    write_song(music.joinpath(*["d"] * 10) / "middle.flac", seed=2, seconds=3.0)
    # Beyond PATH_MAX (4096): 30 folders of 200 characters; the walk cannot enter them and says so.
    fd, parts = _mkdirs(music, ["x" * 200] * 30)
    with os.fdopen(os.open("lost.mp3", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "wb") as f:
        f.write(b"x")
    os.close(fd)
    data = tmp_path / "data"
    code, _, err = run("scan", str(music), *common(data, model_file), "--workers", "1")
    assert code == 0 and "2 new" in err and "Analysed 2 tracks, 0 failed" in err, err
    code, out, _ = run("problems", "--json", *common(data, model_file))
    problems = json.loads(out)
    assert len(problems) == 1 and problems[0]["reason"].startswith("cannot open folder: its path is too long")
    assert len(problems[0]["path"]) > 4000
    code, out, _ = run("genres", "--json", *common(data, model_file))
    assert sorted(Path(g["path"]).name for g in json.loads(out)) == ["bottom.wav", "middle.flac"]


def test_the_walk_keeps_its_order_and_loop_checks(tmp_path: Path) -> None:
    for rel in ("b/2.mp3", "a/z/9.mp3", "a/1.mp3", "0.mp3", "a/y/8.mp3"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    os.symlink("..", tmp_path / "a" / "z" / "up")
    found = [os.path.relpath(i.path, tmp_path) for i in walk_audio(tmp_path)]
    assert found == ["0.mp3", "a/1.mp3", "a/y/8.mp3", "a/z/9.mp3", "a/z/up", "b/2.mp3"]  # the link: a loop


# =============================================================================================
# 6. One writer per library: a second scan waits, then finds the work done; reading goes on.


def test_a_second_scan_waits_for_the_writer_and_reading_goes_on(library: Path, copy_music, model_file: Path,
                                                               music_dir: Path) -> None:
    music = copy_music()
    (music / "New").mkdir()
    write_song(music / "New" / "Fresh.wav", seed=77, seconds=3.0, title="Fresh", artist="New")
    with WriterLock(library).held("a test holding the lock"):
        proc = _scan_process(music, library, model_file)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
        reader.start()
        _wait(lambda: any("waiting" in line for line in lines), proc, what="the waiting message")
        assert any(f"is being changed by another musicsim (process {os.getpid()}, a test holding the lock, since "
                   in line for line in lines), lines
        time.sleep(0.5)
        assert _count(library, "1") == 6  # nothing catalogued while it waits
        code, out, err = run("status", "--json", *common(library, model_file))  # reading is not blocked
        assert code == 0 and json.loads(out)["tracks"] == 6
        assert run("similar", "deep", "--json", *common(library, model_file))[0] == 0
    assert proc.wait(timeout=120) == 0
    reader.join(timeout=10)
    text = "".join(lines)
    assert "7 new" in text and "Analysed 7 tracks, 0 failed" in text, text


def test_two_scans_at_once_analyse_each_track_once(copy_music, model_file: Path, tmp_path: Path) -> None:
    music = copy_music()
    data = tmp_path / "data"
    first = _scan_process(music, data, model_file)
    _wait(lambda: (data / "writer.lock").exists() and (data / "writer.lock").stat().st_size > 0, first,
          what="the first scan to take the lock")
    second = _scan_process(music, data, model_file)
    outs = [p.communicate(timeout=180) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outs
    log_text = (data / "musicsim.log").read_text()
    assert len(re.findall(r"analysing \d+ tracks", log_text)) == 1, log_text  # one of them did the work
    assert "analysing 6 tracks" in log_text
    assert "Nothing to analyse" in outs[1][1], outs[1][1]  # it waited (or came late) and found the work done
    assert _count(data) == 6


# =============================================================================================
# 7. Errors name the file asked for (never a temporary one); similar answers from memory.


def test_similar_answers_from_memory_when_the_index_cannot_be_saved(library: Path, model_file: Path) -> None:
    expected = _similar_json(library, model_file, "deep")
    for name in ("index.hnsw", "index.hnsw.json"):
        (library / name).unlink()
    (library / "index.hnsw").mkdir()  # a folder where the index file goes: rebuilding works, saving cannot
    code, out, err = run("similar", "deep", "--json", "--max-per-artist", "0", *common(library, model_file))
    assert code == 0 and json.loads(out) == expected
    assert f"cannot write {library / 'index.hnsw'}: it is a folder" in err and "in memory" in err, err
    assert ".tmp" not in err and "Traceback" not in err


def test_write_errors_name_the_target_never_a_temporary_file(tmp_path: Path, library: Path,
                                                             model_file: Path) -> None:
    folder = tmp_path / "a folder.m3u8"
    folder.mkdir()
    code, _, err = run("export", "deep", "--out", str(folder), *common(library, model_file))
    assert code == 1 and f"Cannot write {folder}: it is a folder." in err and ".tmp" not in err

    def hnswlib_like(name: Path) -> None:
        raise RuntimeError(f"Cannot open file {name}")

    target = tmp_path / "out" / "out.bin"
    target.parent.mkdir()
    with pytest.raises(WriteError) as caught:
        with atomic_output(target) as tmp:
            hnswlib_like(tmp)
    assert str(caught.value) == f"cannot write {target}: Cannot open file {target}"
    assert list(target.parent.iterdir()) == []


# =============================================================================================
# 8. export --out never replaces what is not a playlist, nor anything without --force.


def test_export_refuses_to_overwrite_songs_catalogues_and_missing_folders(library: Path, copy_music,
                                                                         model_file: Path, tmp_path: Path) -> None:
    music = copy_music()
    song = music / "Delta" / "Quiet Field.opus"
    before, rows, index = file_hashes(music), catalogue_rows(library), index_state(library)
    args = ["deep", *common(library, model_file)]
    for target, words in ((song, "a file that is not a playlist is already there"),
                          (music / "Delta" / "renamed song.m3u8", "a file that is not a playlist is already there"),
                          (library / "catalogue.sqlite3", "inside musicsim's data folder"),
                          (library / "new.m3u8", "inside musicsim's data folder"),
                          (tmp_path / "link to the catalogue.m3u8", "inside musicsim's data folder"),
                          (tmp_path / "no such folder" / "list.m3u8", "the folder")):
        if target.name == "renamed song.m3u8":
            shutil.copy2(song, target)
            before = file_hashes(music)
        if target.name == "link to the catalogue.m3u8":
            target.symlink_to(library / "catalogue.sqlite3")
        for force in ([], ["--force"]):
            code, _, err = run("export", *args, "--out", str(target), *force)
            assert code == 1 and words in err, (target, err)
    assert "does not exist (create it first)" in err and not (tmp_path / "no such folder").exists()
    assert file_hashes(music) == before and catalogue_rows(library) == rows and index_state(library) == index
    assert sorted(p.name for p in library.iterdir()) == sorted(["catalogue.sqlite3", "index.hnsw", "index.hnsw.json",
                                                                "musicsim.log", "writer.lock"])

    playlist = tmp_path / "mine.xspf"
    assert run("export", *args, "--out", str(playlist))[0] == 0
    first = playlist.read_text()
    code, _, err = run("export", *args, "--out", str(playlist), "-n", "1")
    assert code == 1 and "already exists. Add --force to replace it." in err and playlist.read_text() == first
    assert run("export", *args, "--out", str(playlist), "-n", "1", "--force")[0] == 0
    assert playlist.read_text() != first and playlist.read_text().count("<track>") == 1


def test_the_overwrite_rule_is_one_function(tmp_path: Path) -> None:
    (tmp_path / "old.m3u").write_text("/music/a.mp3\n/music/b.mp3\n")
    (tmp_path / "empty.m3u8").write_bytes(b"")
    (tmp_path / "binary.xspf").write_bytes(b"\x00\x01OggS")
    assert check_target(tmp_path / "old.m3u", replace=True) == tmp_path / "old.m3u"
    assert check_target(tmp_path / "empty.m3u8", replace=True) == tmp_path / "empty.m3u8"
    with pytest.raises(ValueError, match="not a playlist"):
        check_target(tmp_path / "binary.xspf", replace=True)
    with pytest.raises(ValueError, match="already exists"):
        check_target(tmp_path / "old.m3u")


# =============================================================================================
# 9. Terminal escapes in names never reach the terminal; JSON stays exact.


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_names_with_terminal_escapes_are_shown_escaped(tmp_path: Path, model_file: Path) -> None:
    music = tmp_path / "music"
    hostile = music / f"evil {HOSTILE}\nline.wav"
    write_song(hostile, seed=3, seconds=3.0, title=f"Title {HOSTILE}", artist=f"Artist\n{HOSTILE}")
    write_song(music / "calm.wav", seed=4, seconds=3.0, title="Calm", artist="Quiet")
    (music / f"broken {HOSTILE}.mp3").write_bytes(b"not audio at all" * 20)
    data = tmp_path / "data"
    args = common(data, model_file)
    code, out, err = run("scan", str(music), *args, "--workers", "1", err=_Tty())
    assert code == 0 and "Analysed 2 tracks, 1 failed" in err
    texts = [out, err]
    for cmd in (["status"], ["genres"], ["problems"], ["similar", "calm"], ["similar", str(hostile)],
                ["export", str(hostile), "--out", str(tmp_path / f"list {HOSTILE}.m3u8")],
                ["similar", f"no such {HOSTILE}"], ["scan", str(music / HOSTILE)], ["genres", "--in", HOSTILE],
                [f"{HOSTILE}nothing"]):
        code, out, err = run(*cmd, *args)
        texts += [out, err]
    no_escapes(*texts)
    joined = "".join(texts)
    assert "evil \\x1b]0;pwned\\x07\\x1b[2J\\nline.wav" in joined  # shown, escaped, on one line
    assert 'No track in the library matches "no such \\x1b]0;pwned' in joined
    code, out, _ = run("genres", "--json", *args)
    assert str(hostile) in {g["path"] for g in json.loads(out)}  # JSON keeps the exact name
    code, out, _ = run("problems", "--json", *args)
    assert json.loads(out)[0]["path"] == str(music / f"broken {HOSTILE}.mp3")


def test_the_progress_line_shows_the_current_file_escaped() -> None:
    from musicsim.cli.output import ProgressBar
    from musicsim.library.records import AnalysisProgress

    tty = _Tty()
    ProgressBar(tty)(AnalysisProgress(done=1, total=3, failed=0, elapsed_s=1.0, eta_s=2.0,
                                      current_path=f"/music/evil {HOSTILE}.mp3"))
    no_escapes(tty.getvalue())
    assert "evil \\x1b]0;pwned\\x07" in tty.getvalue()


def test_console_log_lines_are_terminal_safe(tmp_path: Path) -> None:
    from musicsim.logs import setup_logging

    console = io.StringIO()
    setup_logging(None, console=console)
    logging.getLogger("musicsim.test").warning("cannot read %s", f"x{HOSTILE}")
    no_escapes(console.getvalue())
    assert "x\\x1b]0;pwned" in console.getvalue()


# =============================================================================================
# 10. The main file never lags far behind the WAL: deleting -wal after a kill loses little.


def test_the_catalogue_file_alone_holds_every_committed_batch(copy_music, model_file: Path, tmp_path: Path) -> None:
    music = copy_music()
    data = tmp_path / "data"
    with Library(data, model_file, device="cpu") as lib:
        lib.scan(music, workers=1)
        assert (data / "catalogue.sqlite3-wal").exists()  # still open: the WAL is there
        alone = tmp_path / "alone"
        alone.mkdir()
        shutil.copy2(data / "catalogue.sqlite3", alone / "catalogue.sqlite3")  # the main file, without -wal
    with contextlib.closing(sqlite3.connect(alone / "catalogue.sqlite3")) as conn:
        assert conn.execute("SELECT COUNT(*), SUM(status = 'analysed') FROM tracks").fetchone() == (6, 6)


def test_a_killed_scan_whose_wal_is_deleted_keeps_what_it_stored(tmp_path: Path, model_file: Path) -> None:
    music = _mk(tmp_path / "music")
    base = synth_song(5, 6.0)
    for i in range(24):
        encode(music / f"song{i:02d}.flac", np.roll(base, 997 * i), 22050)
    data = tmp_path / "data"
    proc = _scan_process(music, data, model_file)
    _wait(lambda: _count(data) >= 1, proc, what="a stored batch")
    time.sleep(0.5)  # the first batch's checkpoint follows its commit at once
    os.killpg(proc.pid, signal.SIGSTOP)
    seen = _count(data)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for suffix in ("-wal", "-shm"):
        (data / f"catalogue.sqlite3{suffix}").unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(data / "catalogue.sqlite3")) as conn:
        total, analysed = conn.execute("SELECT COUNT(*), SUM(status = 'analysed') FROM tracks").fetchone()
    assert total == 24  # the whole catalogue pass survived
    assert 1 <= analysed <= seen  # every batch stored up to a moment before the kill (the last may be in flight)


def _mk(folder: Path) -> Path:
    folder.mkdir(parents=True)
    return folder


# =============================================================================================
# 11. A playable MP3 whose header declares the wrong length is analysed.


def _lying_mp3(path: Path, seconds: float, factor: float) -> Path:
    """An MP3 whose Xing header declares ``factor`` times its real frame count (as joined files have)."""
    write_song(path, seed=9, seconds=seconds, title="Joined", artist="Several")
    data = bytearray(path.read_bytes())
    at = data.find(b"Xing")
    assert at > 0
    frames = struct.unpack(">I", data[at + 8 : at + 12])[0]
    data[at + 8 : at + 12] = struct.pack(">I", int(frames * factor))
    path.write_bytes(bytes(data))
    return path


def test_an_mp3_declaring_a_longer_length_is_analysed(tmp_path: Path, model_file: Path) -> None:
    import soundfile as sf

    song = _lying_mp3(tmp_path / "music" / "joined.mp3", 60.0, 76 / 61)
    with sf.SoundFile(str(song)) as f:
        assert f.frames / f.samplerate > 74  # declares about 75 s, plays 60 s
    before = sha256_file(song)
    with musicsim_warnings(logging.INFO) as said:
        windows = load_windows(song, 16000, 32000, lambda d, w: [d * i / 8 for i in range(8)])
    assert len(windows) == 8 and all(w.size for w in windows)
    assert any(re.search(r"declares 7[45] s but its audio ends at about (59|60|61) s", m) for m in said), said
    data = tmp_path / "data"
    code, _, err = run("scan", str(song.parent), *common(data, model_file), "--workers", "1")
    assert code == 0 and "Analysed 1 tracks, 0 failed" in err, err
    assert run("problems", "--json", *common(data, model_file))[1].strip() == "[]"
    assert sha256_file(song) == before


# =============================================================================================
# 12. Smaller: a damaged page, an empty catalogue, stale worker folders, a rejected model file.


def test_a_catalogue_with_a_garbage_page_is_called_damaged(library: Path, model_file: Path, music_dir: Path) -> None:
    music = file_hashes(music_dir)
    with open(library / "catalogue.sqlite3", "r+b") as f:  # page 3: an index no listing query reads
        f.seek(2 * 4096)
        f.write(np.random.default_rng(3).bytes(4096))
    damaged = sha256_file(library / "catalogue.sqlite3")
    for cmd in (["genres"], ["genres", "--json"], ["status"], ["scan", str(music_dir)]):
        code, out, err = run(*cmd, *common(library, model_file))
        assert code == 1 and out == "", (cmd, out)
        assert f"The catalogue {library / 'catalogue.sqlite3'} is damaged (SQLite" in err, err
        assert "Your music files are not affected" in err and "Traceback" not in err
    assert sha256_file(library / "catalogue.sqlite3") == damaged and file_hashes(music_dir) == music


def test_an_empty_catalogue_file_is_recreated_and_logged(tmp_path: Path, model_file: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "catalogue.sqlite3").write_bytes(b"")
    code, out, _ = run("status", "--json", *common(data, model_file))
    assert code == 0 and json.loads(out)["tracks"] == 0
    logged = (data / "musicsim.log").read_text()
    assert "catalogue.sqlite3 was empty (0 bytes); a new, empty catalogue is made" in logged


@pytest.fixture
def short_temp_dir() -> Iterator[Path]:
    """A temp dir of its own with a short path (the forkserver's socket path must stay under 104 bytes)."""
    temp = Path(tempfile.mkdtemp(prefix="ms-", dir="/tmp" if os.path.isdir("/tmp") else None))
    try:
        yield temp
    finally:
        shutil.rmtree(temp)


def test_stale_worker_folders_of_killed_scans_are_removed(short_temp_dir: Path, tmp_path: Path,
                                                          model_file: Path) -> None:
    temp = short_temp_dir
    music = _mk(tmp_path / "music")
    base = synth_song(6, 6.0)
    for i in range(12):
        encode(music / f"s{i:02d}.flac", np.roll(base, 331 * i), 22050)
    data = tmp_path / "data"
    proc = _scan_process(music, data, model_file, TMPDIR=str(temp))
    _wait(lambda: any(temp.glob(f"pymp-musicsim-{proc.pid}-*")), proc, what="the worker folder")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    stale = list(temp.glob(f"pymp-musicsim-{proc.pid}-*"))
    assert len(stale) == 1  # left behind by the kill
    alive = temp / f"pymp-musicsim-{os.getpid()}-alive"  # a running musicsim's: kept
    foreign = temp / "pymp-abc123"  # another program's: never touched
    alive.mkdir()
    foreign.mkdir()
    second = _scan_process(music, data, model_file, TMPDIR=str(temp))
    _, err = second.communicate(timeout=180)
    assert second.returncode == 0, err
    assert not stale[0].exists() and alive.exists() and foreign.exists()
    # its own is gone too (ONNX Runtime leaves a small `.ses` session-id file of its own in the temp dir)
    assert sorted(p.name for p in temp.glob("pymp-*")) == sorted([alive.name, foreign.name])
    assert "removed 1 temporary folder(s) left by killed analyses" in (data / "musicsim.log").read_text()


def test_a_rejected_model_file_is_named_with_its_reason(library: Path, tmp_path: Path) -> None:
    import torch

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.pt"
    torch.save({"format": 1, "version": "x", "payload": Evil()}, evil)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"garbage" * 100)
    for model, reason in ((evil, "it holds code to run (posix.system), not just weights, so it was not loaded"),
                          (garbage, "it is not a musicsim model file"), (tmp_path / "missing.pt", None)):
        code, out, err = run("status", "--data-dir", str(library), "--model", str(model))
        assert code == 0, err
        expected = f"{model} was rejected: {reason}" if reason else f"no model file at {model}"
        assert f"Model file:    {expected}" in out, out
        code, out, _ = run("status", "--json", "--data-dir", str(library), "--model", str(model))
        assert json.loads(out)["model_problem"].startswith(expected)
        assert json.loads(out)["model_version"] == VERSION  # what the catalogue was analysed with
    assert not marker.exists()
    code, _, err = run("scan", str(tmp_path), "--data-dir", str(library), "--model", str(evil))
    assert code == 1 and "was rejected: it holds code to run" in err and "weights_only" not in err
    assert not marker.exists()
