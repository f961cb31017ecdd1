"""Tags a file's own tag block does not give: a WAV's RIFF INFO chunk, and the folder layout Artist/Album/NN - Title.

Real files: a WAV written by libavformat's WAV muxer (PyAV, the code the ffmpeg program runs, which writes
INFO tags from ``-metadata``), generated songs without tags, and the real Library's folder sync.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicsim.library.library import Library
from musicsim.library.tags import layout_tags, read_tags, riff_info, with_fallbacks


def ffmpeg_wav(path: Path, seconds: float = 2.0, **metadata: str) -> Path:
    """A 16 kHz mono WAV written by libavformat with ``metadata`` (title=, artist=, album=, track=, genre=)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    rate = 16000
    samples = (8000 * np.sin(np.arange(int(seconds * rate)) * 2 * np.pi * 440 / rate)).astype(np.int16)
    with av.open(str(path), "w", format="wav") as out:
        out.metadata.update(metadata)
        stream = out.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return path


def test_riff_info_of_an_ffmpeg_written_wav(tmp_path: Path) -> None:
    wav = ffmpeg_wav(tmp_path / "take.wav", title="Tïtle Öne", artist="Wave Artist", album="RIFF Album", track="7",
                     genre="Jazz")
    assert b"LIST" in wav.read_bytes()[:200]  # the muxer wrote the INFO chunk before the audio
    info = riff_info(wav)
    assert (info["INAM"], info["IART"], info["IPRD"], info["IGNR"]) == ("Tïtle Öne", "Wave Artist", "RIFF Album",
                                                                       "Jazz")
    assert info.get("IPRT", info.get("ITRK")) == "7"
    plain = read_tags(wav)  # mutagen alone: the WAVE reader looks for ID3 only
    assert (plain.artist, plain.album) == ("", "")
    tags = with_fallbacks(plain, wav)
    assert (tags.title, tags.artist, tags.album, tags.track_number) == ("Tïtle Öne", "Wave Artist", "RIFF Album", 7)
    assert tags.duration == pytest.approx(2.0, abs=0.01)


def test_riff_info_of_odd_files_is_empty_or_partial(tmp_path: Path, write_song) -> None:
    assert riff_info(write_song(tmp_path / "plain.wav", seed=1, seconds=0.5)) == {}  # soundfile: no INFO
    assert riff_info(write_song(tmp_path / "song.flac", seed=1, seconds=0.5)) == {}
    (tmp_path / "short.wav").write_bytes(b"RIFF\x10\x00")
    assert riff_info(tmp_path / "short.wav") == {}
    assert riff_info(tmp_path / "missing.wav") == {}
    # a LIST chunk cut off mid-field, with Latin-1 text, after a data chunk
    info = b"INFO" + b"IART" + (5).to_bytes(4, "little") + "Zoë\x00".encode("latin-1") + b"\x00\x00" + b"INAM\xff\x00"
    body = b"WAVE" + b"data" + (3).to_bytes(4, "little") + b"abc\x00" + b"LIST" + len(info).to_bytes(4, "little") + info
    (tmp_path / "odd.wav").write_bytes(b"RIFF" + len(body).to_bytes(4, "little") + body)
    assert riff_info(tmp_path / "odd.wav") == {"IART": "Zoë"}


def test_tags_in_the_file_win_over_riff_info_and_folders(tmp_path: Path, write_song) -> None:
    root = tmp_path / "music"
    song = write_song(root / "Folder Artist" / "Folder Album" / "03 - x.wav", seed=2, seconds=0.5,
                      title="Real Title", artist="Real Artist", album="Real Album", track=9)
    tags = with_fallbacks(read_tags(song), song, root)
    assert (tags.title, tags.artist, tags.album, tags.track_number) == ("Real Title", "Real Artist", "Real Album", 9)


def test_folder_layout_names_untagged_songs(tmp_path: Path) -> None:
    root = tmp_path / "Music"
    assert layout_tags(root / "Nina Simone" / "Pastel Blues" / "04 - Be My Husband.mp3", root) == {
        "artist": "Nina Simone", "album": "Pastel Blues", "track": "04"}
    assert layout_tags(root / "Label" / "Nina Simone" / "Pastel Blues" / "Be My Husband.mp3", root) == {
        "artist": "Nina Simone", "album": "Pastel Blues"}
    assert layout_tags(root / "Nina Simone - Pastel Blues" / "4. Be My Husband.mp3", root) == {
        "artist": "Nina Simone", "album": "Pastel Blues", "track": "4"}
    assert layout_tags(root / "Downloads" / "Be My Husband.mp3", root) == {}  # one folder: no guess
    assert layout_tags(root / "Be My Husband.mp3", root) == {}
    assert layout_tags(tmp_path / "Elsewhere" / "A" / "B" / "c.mp3", root) == {}  # never above the music folder


def test_sync_fills_artist_album_and_track_for_untagged_songs(tmp_path: Path, write_song, data_dir: Path,
                                                              model_file: Path) -> None:
    root = tmp_path / "music"
    write_song(root / "Ada Quartet" / "First Album" / "02 - Morning Tune.flac", seed=3, seconds=0.5)
    write_song(root / "Ada Quartet" / "First Album" / "01 - Opening.ogg", seed=4, seconds=0.5)
    write_song(root / "loose_song.mp3", seed=5, seconds=0.5)
    ffmpeg_wav(root / "Rippers" / "Disc" / "05 - track05.wav", seconds=0.5, title="Ripped Song", artist="Ripped Artist")
    with Library(data_dir=data_dir, model_path=model_file) as lib:
        lib.sync_folder(root)
        found = {Path(t.path).name: (t.display_title, t.artist, t.album, t.track_number) for t in lib.tracks()}
    assert found == {
        "01 - Opening.ogg": ("Opening", "Ada Quartet", "First Album", 1),
        "02 - Morning Tune.flac": ("Morning Tune", "Ada Quartet", "First Album", 2),
        "loose_song.mp3": ("loose song", "", "", None),
        # RIFF INFO first (title, artist), then the folders for what it lacks (album, track number)
        "05 - track05.wav": ("Ripped Song", "Ripped Artist", "Disc", 5),
    }
