"""Writing genres into files' tags safely, with a journal that undoes every write byte for byte.

One write (:func:`write_one`): the file is copied beside itself, the copy's genre tag is set with
mutagen (``filetags.write_genre``), the copy is checked — the genre reads back, every other tag and
the stream properties read back unchanged, and the decoded audio is sample for sample the original's —
the undo record is stored in the journal, and only then is the copy renamed over the file
(``fileio.atomic_output``). A crash leaves the old file or the new one, never a mix, and never a
new file without its undo record.

The journal lives in the data folder (``genre-journal/<run>/``): per file, the original's SHA-256,
size, mode and mtime, the new file's SHA-256, and the original bytes of the one stretch that differs
(the new and old files share a prefix and a suffix; only what lies between is kept, so a tag edit
costs a few KB, not a copy of the song). :func:`undo_last_run` rebuilds each original from the
current file, checks its SHA-256, writes it atomically and restores its mtime: byte for byte what
was there. A file changed since (its SHA-256 is not the one written) is left alone and reported.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musicsim.fileio import WriteError, atomic_output, atomic_write, sha256_file
from musicsim.genres.filetags import GENRE_KEYS, TagWriteError, write_genre
from musicsim.genres.names import key as genre_key

log = logging.getLogger(__name__)

JOURNAL_DIR = "genre-journal"
_IGNORED_KEYS = {k.casefold() for k in GENRE_KEYS} | {"gnre"}


class RetagError(RuntimeError):
    """This file's genre was not written (the file is unchanged); the message says why."""


@dataclass(frozen=True)
class WriteRecord:
    """One journal entry: enough to rebuild the original file from the new one."""

    path: str
    track_id: int | None
    genre: str
    old_sha256: str
    old_size: int
    old_mtime_ns: int
    mode: int
    new_sha256: str
    new_size: int
    prefix: int  # bytes shared at the start
    suffix: int  # bytes shared at the end
    patch: str  # file name (in the run folder) of the original's bytes between prefix and suffix


@dataclass(frozen=True)
class Written:
    path: str
    track_id: int | None
    genre: str
    size: int
    mtime_ns: int


def _tag_snapshot(path: Path) -> dict[str, Any]:
    """Every tag except the genre, and the stream properties, as comparable text."""
    import mutagen

    try:
        audio = mutagen.File(path)
    except Exception as exc:  # mutagen raises many types on damaged files
        raise RetagError(f"mutagen cannot read the file's tags: {exc}") from exc
    if audio is None:
        raise RetagError("mutagen cannot read the file's tags")
    tags: dict[str, str] = {}
    if audio.tags is not None:
        for k in audio.tags.keys():
            if str(k).split(":")[0].casefold() in _IGNORED_KEYS:
                continue
            tags[str(k)] = repr(audio.tags[k])
    info = audio.info
    stream = {name: repr(getattr(info, name, None)) for name in ("length", "sample_rate", "channels", "bitrate")}
    return {"tags": tags, "stream": stream}


def _decoded(path: Path) -> np.ndarray:
    from musicsim.audio.decode import DecodeError, open_audio

    try:
        with open_audio(path) as reader:
            return reader.read_all()
    except DecodeError as exc:
        raise RetagError(f"the audio cannot be decoded: {exc}") from exc


def _genre_reads_back(path: Path, genre: str) -> bool:
    from musicsim.library.tags import read_tags

    values = read_tags(path).genres
    return bool(values) and genre_key(values[0]) == genre_key(genre)


def _common_ends(old: bytes, new: bytes) -> tuple[int, int]:
    """Lengths of the longest common prefix and (in what is left) the longest common suffix."""
    n = min(len(old), len(new))
    a, b = np.frombuffer(old, np.uint8), np.frombuffer(new, np.uint8)
    diff = np.flatnonzero(a[:n] != b[:n])
    prefix = int(diff[0]) if len(diff) else n
    limit = n - prefix
    tail = np.flatnonzero(a[len(a) - limit :][::-1] != b[len(b) - limit :][::-1]) if limit else np.zeros(0)
    suffix = int(tail[0]) if len(tail) else limit
    return prefix, suffix


class Journal:
    """The genre-write journal in ``data_dir``: one folder per run, one JSON record per file."""

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.root = Path(data_dir) / JOURNAL_DIR

    def new_run(self) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run, n = self.root / stamp, 0
        while run.exists():
            n += 1
            run = self.root / f"{stamp}.{n:02d}"
        (run / "records").mkdir(parents=True)
        return run

    def runs(self) -> list[Path]:
        """Runs still to undo, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted((p for p in self.root.iterdir() if p.is_dir() and not (p / "undone").exists()),
                      key=lambda p: p.name)

    @staticmethod
    def records(run: Path) -> Iterator[WriteRecord]:
        for f in sorted((run / "records").glob("*.json")):
            yield WriteRecord(**json.loads(f.read_text(encoding="utf-8")))


def write_one(path: str | os.PathLike[str], genre: str, run: Path, number: int,
              track_id: int | None = None) -> Written:
    """Set ``path``'s genre tag to ``genre`` (see the module docstring); raises :class:`RetagError`."""
    target = Path(path)
    try:
        st = target.stat()
        old = target.read_bytes()
    except OSError as exc:
        raise RetagError(f"cannot read the file: {exc.strerror or exc}") from exc
    before = _tag_snapshot(target)
    audio_before = _decoded(target)
    mode = st.st_mode & 0o7777

    def verify(tmp: Path) -> None:
        if not _genre_reads_back(tmp, genre):
            raise RetagError("the genre did not read back from the rewritten file")
        if _tag_snapshot(tmp) != before:
            raise RetagError("another tag or the stream properties would have changed")
        if not np.array_equal(_decoded(tmp), audio_before):
            raise RetagError("the decoded audio would have changed")
        new = tmp.read_bytes()
        prefix, suffix = _common_ends(old, new)
        patch = f"{number:06d}.bin"
        atomic_write(run / "records" / patch, old[prefix : len(old) - suffix])
        record = WriteRecord(str(target), track_id, genre, sha256_file(target), len(old), st.st_mtime_ns, mode,
                             sha256_file(tmp), len(new), prefix, suffix, patch)
        atomic_write(run / "records" / f"{number:06d}.json", json.dumps(asdict(record), indent=1))

    try:
        with atomic_output(target, mode=mode, verify=verify, suffix=".tmp" + target.suffix) as tmp:
            tmp.write_bytes(old)
            write_genre(tmp, genre)
    except (TagWriteError, RetagError) as exc:
        raise RetagError(str(exc)) from exc
    except WriteError as exc:
        raise RetagError(str(exc)) from exc
    new_st = target.stat()
    log.info("wrote genre %r into %s", genre, target)
    return Written(str(target), track_id, genre, new_st.st_size, new_st.st_mtime_ns)


@dataclass
class Restored:
    path: str
    track_id: int | None
    size: int
    mtime_ns: int


def undo_run(run: Path) -> tuple[list[Restored], list[tuple[str, str]]]:
    """Restore every file of ``run`` (newest write first). Returns (restored, [(path, why not)])."""
    restored: list[Restored] = []
    problems: list[tuple[str, str]] = []
    for rec in reversed(list(Journal.records(run))):
        path = Path(rec.path)
        try:
            current = path.read_bytes()
        except OSError as exc:
            problems.append((rec.path, f"cannot read it: {exc.strerror or exc}"))
            continue
        digest = hashlib.sha256(current).hexdigest()
        if digest == rec.old_sha256:
            continue  # the write never reached the file (or was already undone)
        if digest != rec.new_sha256:
            problems.append((rec.path, "it changed after musicsim wrote its genre; left as it is"))
            continue
        middle = (run / "records" / rec.patch).read_bytes()
        original = current[: rec.prefix] + middle + current[len(current) - rec.suffix :]
        if hashlib.sha256(original).hexdigest() != rec.old_sha256:
            problems.append((rec.path, "the journal does not rebuild the original; left as it is"))
            continue
        try:
            atomic_write(path, original, mode=rec.mode)
            os.utime(path, ns=(time.time_ns(), rec.old_mtime_ns))
        except OSError as exc:
            problems.append((rec.path, str(exc)))
            continue
        restored.append(Restored(rec.path, rec.track_id, rec.old_size, rec.old_mtime_ns))
    if not problems:
        atomic_write(run / "undone", time.strftime("%Y-%m-%dT%H:%M:%S\n"))
    return restored, problems
