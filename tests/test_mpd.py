"""``--to-mpd``: a real MPD (started here on a free localhost port and a socket, null audio output) receives
exactly the playlist musicsim computed; songs it does not know are reported with the reason."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from mpd_server import MpdServer
from output_lines import Lines

from musicsim.cli import main
from musicsim.mpdlink.address import MpdAddress, parse_address, resolve_address


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def setup(tmp_path_factory, music_dir: Path, model_file: Path, write_song, program):
    """MPD over a copy of the music folder; the library also holds a song MPD has not seen yet and one
    outside MPD's folder."""
    mpd_exe = program("mpd")
    base = tmp_path_factory.mktemp("mpd")
    music = base / "music"
    shutil.copytree(music_dir, music)
    server = MpdServer(mpd_exe, music, base / "mpd")
    try:
        server.update()
        late = write_song(music / "Late/After Update.flac", seed=31, seconds=15.0, title="After Update", artist="Zeta")
        outside = write_song(base / "elsewhere" / "Outside.flac", seed=32, seconds=17.0, title="Outside", artist="Eta")
        data = str(base / "data")
        for folder in (music, outside.parent):
            code, _, err = run_cli("--data-dir", data, "--model", str(model_file), "scan", str(folder))
            assert code == 0, err
        yield server, music, data, late, outside
    finally:
        server.stop()


def queue_files(server: MpdServer) -> list[str]:
    c = server.client()
    try:
        return [song["file"] for song in c.playlistinfo()]
    finally:
        c.disconnect()


def similar(data: str, query: str, *extra: str) -> tuple[int, list[dict], str]:
    code, out, err = run_cli("--data-dir", data, "similar", query, "-n", "20", "--max-per-artist", "0",
                             "--json", *extra)
    return code, (json.loads(out) if out.strip() else []), err


def test_similar_to_mpd_replaces_the_queue_with_exactly_the_playlist(setup, monkeypatch) -> None:
    server, music, data, late, outside = setup
    monkeypatch.delenv("MPD_HOST", raising=False)
    monkeypatch.delenv("MPD_PORT", raising=False)
    code, playlist, err = similar(data, "Neon Rain", "--to-mpd", server.address)
    assert code == 0, err
    paths = [t["path"] for t in playlist]
    assert len(paths) == 7 and str(late) in paths and str(outside) in paths
    expected = [Path(p).relative_to(music).as_posix() for p in paths if p not in (str(late), str(outside))]
    assert queue_files(server) == expected  # MPD's folder was found from the songs' paths (TCP: no config)
    assert "now plays 5 of 7 songs" in err
    assert f"not sent: {late}: not in MPD's database" in err
    assert f"not sent: {outside}: outside MPD's music folder ({music})" in err
    c = server.client()
    try:
        assert c.status()["state"] == "play" and c.currentsong()["file"] == expected[0]
    finally:
        c.disconnect()

    # --append adds the next list after it; MPD_HOST/MPD_PORT name the server, as for mpc
    monkeypatch.setenv("MPD_HOST", "127.0.0.1")
    monkeypatch.setenv("MPD_PORT", str(server.port))
    code, second, err = similar(data, "Deep Water", "--to-mpd", "--append")
    assert code == 0, err
    more = [Path(t["path"]).relative_to(music).as_posix() for t in second
            if t["path"] not in (str(late), str(outside))]
    assert queue_files(server) == expected + more


def test_over_the_socket_mpd_tells_its_folder(setup, monkeypatch) -> None:
    server, music, data, late, outside = setup
    monkeypatch.setenv("MPD_HOST", server.socket)
    code, playlist, err = similar(data, "Iron Gate", "--to-mpd")
    assert code == 0, err
    expected = [Path(t["path"]).relative_to(music).as_posix() for t in playlist
                if t["path"] not in (str(late), str(outside))]
    assert queue_files(server) == expected


def test_a_wrong_root_changes_nothing_and_says_so(setup, monkeypatch, tmp_path: Path) -> None:
    server, music, data, late, outside = setup
    before = queue_files(server)
    code, _, err = similar(data, "Neon Rain", f"--to-mpd={server.address}", "--mpd-root", str(tmp_path))
    assert code == 1
    assert "knows none of these 7 songs; its queue is unchanged" in err
    assert queue_files(server) == before


def test_no_mpd_listening_is_one_clear_line(setup, monkeypatch) -> None:
    from mpd_server import free_port

    _, _, data, _, _ = setup
    code, _, err = similar(data, "Neon Rain", "--to-mpd", f"127.0.0.1:{free_port()}")
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("musicsim: error: could not connect to MPD at 127.0.0.1:")


def test_addresses_read_as_mpc_reads_them(tmp_path: Path) -> None:
    assert parse_address("localhost") == MpdAddress("localhost", 6600)
    assert parse_address("secret@music.lan:6601") == MpdAddress("music.lan", 6601, "secret")
    assert parse_address("[::1]:6602") == MpdAddress("::1", 6602)
    assert parse_address("::1") == MpdAddress("::1", 6600)
    assert parse_address("/run/mpd/socket").is_socket
    assert parse_address("pw@/run/mpd/socket") == MpdAddress("/run/mpd/socket", 6600, "pw")
    assert parse_address("@mpd") == MpdAddress("@mpd", 6600)
    assert parse_address("@@mpd") == MpdAddress("@mpd", 6600)
    with pytest.raises(ValueError, match="port"):
        parse_address("host:http")
    env = {"MPD_HOST": "pw@box", "MPD_PORT": "7000"}
    assert resolve_address(None, env) == MpdAddress("box", 7000, "pw")
    assert resolve_address("other", env) == MpdAddress("other", 7000)
    assert resolve_address("other:6600", env) == MpdAddress("other", 6600)
    sock = tmp_path / "mpd" / "socket"
    sock.parent.mkdir()
    sock.touch()
    assert resolve_address(None, {"XDG_RUNTIME_DIR": str(tmp_path)}) == MpdAddress(str(sock), 6600)


@pytest.fixture(scope="module")
def radio_setup(tmp_path_factory, model_file: Path, write_song, program):
    """A second MPD over 14 songs of clearly different lengths (no two count as copies of one recording), each
    at least 30 s long: a Next pressed seconds after a song starts is a skip even on a loaded machine."""
    mpd_exe = program("mpd")
    base = tmp_path_factory.mktemp("mpd-radio")
    music = base / "music"
    for i in range(14):
        write_song(music / f"Artist {i % 7}" / f"Song {i:02d}.flac", seed=100 + i, seconds=30.0 + 3.1 * i,
                   title=f"Song {i:02d}", artist=f"Artist {i % 7}")
    server = MpdServer(mpd_exe, music, base / "mpd")
    try:
        server.update()
        data = str(base / "data")
        code, _, err = run_cli("--data-dir", data, "--model", str(model_file), "scan", str(music))
        assert code == 0, err
        yield server, music, data
    finally:
        server.stop()


def test_mpd_radio_keeps_the_queue_filled_without_repeats_and_hears_skips(radio_setup) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    server, music, data = radio_setup
    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPD_")}
    proc = subprocess.Popen([sys.executable, "-m", "musicsim", "--data-dir", data, "mpd-radio", "Song 03",
                             "--mpd", server.address, "--ahead", "2", "--max-per-artist", "0"],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # even if the
    # tests run with SIGINT ignored (a background job): Python then installs no KeyboardInterrupt handler
    out, errs = Lines(proc.stdout), Lines(proc.stderr)
    c = server.client()
    played: list[str] = []

    def settled(skips: int = 0, heard: int = 0) -> dict:
        """Wait until the radio reported what happened and the queue holds 2 songs after the current."""
        if skips:
            out.wait_for("skipped: ", skips)
        if heard:
            out.wait_for("heard: ", heard)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            st = c.status()
            if st.get("state") == "play" and "song" in st and int(st["playlistlength"]) - int(st["song"]) - 1 >= 2:
                return st
            time.sleep(0.05)
        raise AssertionError(f"queue not topped up: {c.status()} {out.lines} {errs.lines}")

    try:
        settled()
        played.append(c.currentsong()["file"])
        for step in range(1, 4):  # three skips: Next a moment after a song starts
            c.next()
            settled(skips=step)
            played.append(c.currentsong()["file"])
        length = float(c.status()["duration"])  # one song heard: let it run out near its end
        c.seekcur(str(max(0.0, length - 1.0)))
        settled(skips=3, heard=1)
        played.append(c.currentsong()["file"])
        queue = [s["file"] for s in c.playlistinfo()]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        finally:
            c.disconnect()
    assert proc.returncode == 0, errs.lines
    assert any("Stopped" in line for line in errs.lines)
    assert len(played) == 5 and len(set(played)) == 5, played  # no song played twice
    assert len(queue) == len(set(queue)), queue  # nor queued twice
    assert "Artist 3/Song 03.flac" not in played  # the seed itself is not handed out
    assert len(out.wait_for("queued: ")) >= 5 + 2
