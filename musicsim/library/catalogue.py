"""The SQLite catalogue (WAL mode): the library's source of truth.

One row per audio file: path, size, mtime, tags (with the file's own genre tag, ``genre_tag``: NULL
until read, '' for none), analysis status and error, the model version that
analysed it, genre and tag probabilities and the embedding (float32 blobs), ``stamp``: the
generation at which its embedding was written, and ``sort_artist`` (schema 5, indexed): the library
table's default order (:func:`musicsim.formatting.artist_sort_key`), so the app reads its first
screenful of a big library at once (:meth:`Catalogue.track_chunks`). Files the scanner could
not use at all (AppleDouble, unreadable, loops) live in ``skipped``. ``meta.generation`` goes up with
every change to the set of embeddings, so the vector index can tell when, and since when, it is stale;
``meta.catalogue_id`` (a random id made once) binds the saved index to this catalogue.

Each thread gets its own connection; every write is one transaction, and the WAL is checkpointed
into the main file after each one, so the main file alone (a lost ``-wal``) holds every committed batch.

Opening never mistakes a healthy file for a foreign one: a catalogue on a read-only or full disk (or
without write permission) is opened read-only (``mode=ro``, else ``immutable=1``): reading works and
every write raises :class:`CatalogueReadOnly` saying why. Failed writes raise
:class:`CatalogueWriteError` in plain words (disk full: how much room is needed); a file whose pages
are garbage raises :class:`CatalogueDamaged`. Only a file that is not SQLite at all, or another
program's database, is "not a musicsim catalogue".
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import sqlite3
import threading
import time
import unicodedata
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from musicsim.fileio import disk_full_reason, free_bytes, is_read_only_disk
from musicsim.formatting import artist_sort_key
from musicsim.genres.label import corrected_top, label_tracks
from musicsim.genres.names import primary
from musicsim.library.records import Problem, Track

if TYPE_CHECKING:  # reading commands never import the scanner nor the tag reader (mutagen)
    from musicsim.library.scanner import FoundFile, Skipped
    from musicsim.library.tags import TagInfo

log = logging.getLogger(__name__)

SCHEMA_VERSION = 5
TOP_TAGS = 5  # extra tags shown per track
SQLITE_HEADER = b"SQLite format 3\x00"
# PRAGMA quick_check runs when a catalogue up to this size is opened (about 4 ms per MB, i.e. 0.04 s
# for 10 000 tracks, 0.5 s for 100 000: benchmarks/bench_faults.py); larger ones are checked by the
# writing commands (scan) only, and any damage a query meets is reported as damage.
CHECK_ON_OPEN_MAX_BYTES = 32_000_000
# A disk with less room than this is treated as full: the catalogue is opened read-only.
MIN_FREE_BYTES = 1_000_000
# An I/O error on a write while less than this is free is a full disk (SQLite says "disk I/O error").
FULL_BELOW_BYTES = 1_000_000
# Checkpoint the WAL into the main file after a commit when the last checkpoint is older than this.
CHECKPOINT_INTERVAL_S = 0.0
ID_KEY = "catalogue_id"

# SQLite's primary result codes (sqlite3 exceptions carry them as ``sqlite_errorcode``).
_READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 8, 10, 11, 13, 14, 26
_BUSY, _LOCKED = 5, 6

_SCHEMA = """
CREATE TABLE tracks (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    title TEXT NOT NULL,
    artist TEXT NOT NULL DEFAULT '',
    album TEXT NOT NULL DEFAULT '',
    track_number INTEGER,
    duration REAL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'analysed', 'failed')),
    error TEXT,
    model_version TEXT,
    genre_probs BLOB,
    tag_probs BLOB,
    embedding BLOB,
    n_segments INTEGER,
    analysed_at REAL,
    added_at REAL NOT NULL,
    stamp INTEGER NOT NULL DEFAULT 0,
    find_title TEXT NOT NULL DEFAULT '',
    find_artist TEXT NOT NULL DEFAULT '',
    find_text TEXT NOT NULL DEFAULT '',
    genre_tag TEXT,
    sort_artist TEXT NOT NULL DEFAULT ''
);
CREATE INDEX tracks_status ON tracks (status, model_version);
CREATE INDEX tracks_table_order ON tracks (sort_artist);
CREATE TABLE skipped (path TEXT PRIMARY KEY, reason TEXT NOT NULL);
CREATE TABLE models (
    version TEXT PRIMARY KEY,
    genres TEXT NOT NULL,
    tags TEXT NOT NULL,
    embedding_size INTEGER NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta (key, value) VALUES ('generation', '0');
"""

_TRACK_COLUMNS = ("id, path, title, artist, album, track_number, duration, status, error, model_version, "
                  "genre_probs, tag_probs, genre_tag")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while building many small objects that form no cycles (100 000
    Tracks: the collector would otherwise re-scan them over and over, about half the time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class CatalogueError(RuntimeError):
    """The catalogue file cannot be used (newer schema, not a database...)."""


class CatalogueReadOnly(CatalogueError):
    """A change was asked of a catalogue that can only be read (read-only or full disk, no permission)."""


class CatalogueWriteError(CatalogueError):
    """A write to the catalogue failed (disk full, I/O error); what was stored before is kept."""


class CatalogueDamaged(CatalogueError):
    """The catalogue file is SQLite but some of its pages are garbage."""


def sqlite_code(exc: BaseException) -> int | None:
    """SQLite's primary result code of an sqlite3 exception (None when it has none)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def is_damage(exc: BaseException) -> bool:
    """``exc`` is SQLite saying the file's contents are malformed."""
    return isinstance(exc, sqlite3.DatabaseError) and sqlite_code(exc) in (_CORRUPT, _NOTADB)


def damaged_message(path: Path, detail: str) -> str:
    return (f"The catalogue {path} is damaged ({detail}). Your music files are not affected. Keep a copy of "
            "the file for repair (sqlite3's .recover command can often save its rows), or move it away and run "
            "musicsim scan again to rebuild it (every track is then analysed again).")


@dataclass(frozen=True)
class KnownFile:
    id: int
    size: int
    mtime_ns: int
    tags_read: bool = True  # False: catalogued before schema 4, its genre tag not read yet


@dataclass(frozen=True)
class ModelInfo:
    version: str
    genres: list[str]
    tags: list[str]
    embedding_size: int


@dataclass(frozen=True)
class AnalysisRow:
    """One analysis outcome to store: ``embedding`` etc. set on success, ``error`` on failure."""

    track_id: int
    embedding: np.ndarray | None = None
    genre_probs: np.ndarray | None = None
    tag_probs: np.ndarray | None = None
    n_segments: int | None = None
    error: str | None = None


def fold(text: str) -> str:
    """Text for matching: case, accents and Unicode normalisation ignored (``Jóga`` ~ ``JOGA``)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def _find_columns(path: str, tags: TagInfo) -> tuple[str, str, str]:
    """``find_title``, ``find_artist``, ``find_text``: folded title, artist, and artist/title/album/file name
    (joined by a separator no search word contains) for text search in SQL."""
    return (fold(tags.title), fold(tags.artist),
            "\x1f".join(fold(t) for t in (tags.artist, tags.title, tags.album, os.path.basename(path))))


def _objects(items: Sequence[object]) -> np.ndarray:
    """``items`` as a 1-d object array (never taken apart, whatever they are)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _sort_artist(tags: TagInfo) -> str:
    return artist_sort_key(tags.artist, tags.album, tags.track_number)


def _blob(a: np.ndarray | None) -> bytes | None:
    return None if a is None else np.ascontiguousarray(a, dtype=np.float32).tobytes()


def _array(b: bytes | None) -> np.ndarray | None:
    return None if b is None else np.frombuffer(b, dtype=np.float32)


def _vector(b: bytes) -> np.ndarray:
    """A stored embedding (never NULL for analysed rows)."""
    return np.frombuffer(b, dtype=np.float32)


def under(root: str) -> tuple[str, str]:
    """SQL bounds ``(lo, hi)`` such that ``lo <= path < hi`` selects paths inside folder ``root``."""
    root = root.rstrip(os.sep)
    return root + os.sep, root + chr(ord(os.sep) + 1)


def _scope(root: str | None, column: str = "path") -> tuple[str, tuple[str, ...]]:
    """``(" AND <column> inside root", params)`` for a folder scope; nothing for ``None`` (every folder)."""
    if root is None:
        return "", ()
    return f" AND {column} >= ? AND {column} < ?", under(root)


def _migrate_to_4(c: sqlite3.Connection) -> None:
    """Schema 3 -> 4: the file's own genre tag. NULL marks "not read yet": the next catalogue pass reads
    the tags of those files again (without re-analysing them, see ``KnownFile.tags_read``)."""
    columns = {row[1] for row in c.execute("PRAGMA table_info(tracks)")}
    if "genre_tag" not in columns:
        c.execute("ALTER TABLE tracks ADD COLUMN genre_tag TEXT")
    c.execute("UPDATE tracks SET genre_tag = NULL")


def _migrate_to_5(c: sqlite3.Connection) -> None:
    """Schema 4 -> 5: ``sort_artist``, the table's default order, indexed (100 000 tracks: about a second, once)."""
    columns = {row[1] for row in c.execute("PRAGMA table_info(tracks)")}
    if "sort_artist" not in columns:
        c.execute("ALTER TABLE tracks ADD COLUMN sort_artist TEXT NOT NULL DEFAULT ''")
    rows = c.execute("SELECT id, artist, album, track_number FROM tracks").fetchall()
    c.executemany("UPDATE tracks SET sort_artist = ? WHERE id = ?",
                  [(artist_sort_key(a, al, n), i) for i, a, al, n in rows])
    c.execute("CREATE INDEX IF NOT EXISTS tracks_table_order ON tracks (sort_artist)")


class Catalogue:
    """The catalogue file at ``path`` (created with the current schema if missing)."""

    def __init__(self, path: str | os.PathLike[str], read_only: bool = False, check: bool | None = None) -> None:
        """``read_only``: never write (as if the disk were read-only). ``check``: run ``PRAGMA
        quick_check`` now (default: only when the file is under :data:`CHECK_ON_OPEN_MAX_BYTES`)."""
        self.path = Path(path).absolute()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._models: dict[str, ModelInfo] = {}
        self._mode = "rw"  # "rw", "ro" (mode=ro) or "immutable"
        self.read_only_reason: str | None = None  # why this catalogue cannot be written
        self.unseen_wal = False  # opened immutable beside a -wal whose changes cannot be read
        self._checked = False
        self._last_checkpoint = 0.0
        self._open("opened read-only on request" if read_only else None)
        try:
            self._migrate()
            self.catalogue_id = self._ensure_id()
            if check or (check is None and self._size() <= CHECK_ON_OPEN_MAX_BYTES):
                self.check()
        except BaseException:
            self.close()
            raise

    @property
    def read_only(self) -> bool:
        return self.read_only_reason is not None

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    # -- connections -----------------------------------------------------------------------
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; use :meth:`transaction` for writes)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._mode == "rw":
                conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            else:
                query = "mode=ro" if self._mode == "ro" else "immutable=1"
                conn = sqlite3.connect(f"{self.path.as_uri()}?{query}", uri=True, timeout=60, isolation_level=None,
                                       check_same_thread=False)
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``), then a WAL checkpoint.

        Raises :class:`CatalogueReadOnly` on a read-only catalogue, :class:`CatalogueWriteError` when
        SQLite cannot write (disk full, I/O error), :class:`CatalogueDamaged` on damage.
        """
        if self.read_only_reason is not None:
            raise CatalogueReadOnly(self.read_only_message())
        conn = self.conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            failure = self._write_failure(exc)
            if failure is exc:
                raise
            raise failure from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                log.debug("rollback after a failed write did nothing", exc_info=True)
            if not isinstance(exc, sqlite3.DatabaseError):
                raise
            failure = self._write_failure(exc)
            if failure is exc:
                raise
            raise failure from exc
        self._checkpoint(conn)

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """Copy committed WAL pages into the main file (PASSIVE: never waits for readers)."""
        now = time.monotonic()
        if now - self._last_checkpoint < CHECKPOINT_INTERVAL_S:
            return
        self._last_checkpoint = now
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.DatabaseError as exc:  # a full disk: the changes stay safe in the WAL meanwhile
            log.info("could not checkpoint the catalogue %s (SQLite: %s); its latest changes stay in the WAL",
                     self.path, exc)

    def read_only_message(self) -> str:
        """Why a writing command cannot run, and what to do (never: discard the catalogue)."""
        reason = self.read_only_reason or ""
        if reason.startswith("the disk is full"):
            reason = disk_full_reason(self.path.parent, self.space_needed())
            fix = "Free some room on that disk and run it again."
        elif reason.startswith("permission denied"):
            fix = "Run it as the user who owns the data folder, or give yourself write permission."
        else:
            fix = "Copy the data folder to a writable disk and pass --data-dir, or make the disk writable."
        return (f"The library in {self.path.parent} can only be read: {reason}. Reading commands (status, genres, "
                f"problems, similar, export) work; scanning needs to write there. The catalogue is fine. {fix}")

    def _write_problem(self, estimate: bool = True) -> str | None:
        """Why this catalogue cannot be written (checked without writing), or None. ``estimate``: say how
        much room a full disk needs (reads the catalogue)."""
        folder = self.path.parent
        if is_read_only_disk(folder):
            return "the disk is read-only"
        if not os.access(folder, os.W_OK) or (self.path.exists() and not os.access(self.path, os.W_OK)):
            return "permission denied (the data folder or the catalogue cannot be written)"
        free = free_bytes(folder)
        if free is not None and free < MIN_FREE_BYTES:
            return disk_full_reason(folder, self.space_needed() if estimate else None)
        return None

    def space_needed(self) -> int:
        """About how many bytes the catalogue still needs: its WAL's headroom plus room for every pending
        track's analysis (the main file's own bytes per track, twice: WAL and main file)."""
        try:
            tracks, pending = self.conn().execute(
                "SELECT COUNT(*), COALESCE(SUM(status = 'pending'), 0) FROM tracks").fetchone()
        except sqlite3.Error:
            tracks = pending = 0
        per_track = max(4096, self._size() // max(1, int(tracks)))
        return 4_000_000 + 2 * per_track * int(pending)

    def _write_failure(self, exc: sqlite3.DatabaseError) -> Exception:
        """A plain-words error for a failed write (``exc`` itself when it is no disk trouble)."""
        code = sqlite_code(exc)
        if code in (_CORRUPT, _NOTADB):
            return CatalogueDamaged(damaged_message(self.path, f"SQLite: {exc}"))
        folder = self.path.parent
        free = free_bytes(folder)
        if code == _FULL or (code == _IOERR and free is not None and free < FULL_BELOW_BYTES):
            reason = disk_full_reason(folder, self.space_needed())
        elif code in (_READONLY, _CANTOPEN, _IOERR) and (problem := self._write_problem()) is not None:
            reason = problem
        elif code == _IOERR:
            reason = "a disk input/output error (is the disk failing, or was it unplugged?)"
        elif code in (_BUSY, _LOCKED):
            reason = "another program kept it locked for over a minute"
        else:
            return exc
        log.info("cannot write the catalogue %s: %s (SQLite: %s)", self.path, reason, exc)
        return CatalogueWriteError(f"Cannot write to the catalogue {self.path}: {reason}. Everything stored "
                                   "before is kept; run the command again once that is fixed.")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    log.debug("closing a catalogue connection failed", exc_info=True)
            self._all.clear()
        self._local = threading.local()

    # -- opening ---------------------------------------------------------------------------
    def _open(self, read_only_reason: str | None) -> None:
        """Connect read-write when the disk allows it, else read-only (``mode=ro``, then ``immutable``)."""
        exists = self.path.exists()
        if exists:
            self._check_header()
        problem = read_only_reason or self._write_problem(estimate=False)
        if problem is None:
            try:
                self._probe("rw")
                return
            except sqlite3.DatabaseError as exc:
                self.close()
                if is_damage(exc):
                    raise CatalogueDamaged(damaged_message(self.path, f"SQLite: {exc}")) from exc
                problem = self._write_problem(estimate=False)
                if problem is None:
                    raise CatalogueError(f"Cannot open the catalogue {self.path}: {exc}.") from exc
        if not exists:
            raise CatalogueReadOnly(f"There is no catalogue in {self.path.parent} yet, and none can be created "
                                    f"there: {problem}.")
        last: sqlite3.DatabaseError | None = None
        wal = self.path.with_name(self.path.name + "-wal")
        for mode in ("ro", "immutable"):
            try:
                self._probe(mode)
                break
            except sqlite3.DatabaseError as exc:
                self.close()
                if is_damage(exc) and mode == "immutable" and wal.exists() and wal.stat().st_size > 0:
                    raise CatalogueReadOnly(
                        f"The catalogue {self.path} cannot be read while {problem}: its latest changes are in "
                        f"{wal.name}, which SQLite can only read where it may write. The catalogue is fine; make "
                        "the disk writable (or free some room) once and it reads again.") from exc
                if is_damage(exc):
                    raise CatalogueDamaged(damaged_message(self.path, f"SQLite: {exc}")) from exc
                last = exc
        else:
            raise CatalogueError(f"Cannot read the catalogue {self.path} ({problem}; SQLite: {last}).")
        self.read_only_reason = problem
        if self._mode == "immutable" and wal.exists() and wal.stat().st_size > 0:
            self.unseen_wal = True
            log.warning("the catalogue's latest changes (in %s) cannot be read while %s; showing the library as "
                        "of its last checkpoint", wal, problem)
        log.info("the catalogue %s is opened read-only (%s, %s)", self.path, problem, self._mode)

    def _probe(self, mode: str) -> None:
        """Connect in ``mode`` and read the schema (raises sqlite3 errors)."""
        self.close()
        self._mode = mode
        conn = self.conn()
        conn.execute("PRAGMA user_version").fetchone()
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()

    def _check_header(self) -> None:
        """A file that is not SQLite at all is "not a musicsim catalogue"; an empty one is logged."""
        try:
            with open(self.path, "rb") as f:
                head = f.read(len(SQLITE_HEADER))
        except OSError as exc:
            raise CatalogueError(f"Cannot read the catalogue {self.path}: {exc.strerror or exc}.") from exc
        if not head:
            wal = self.path.with_name(self.path.name + "-wal")
            if not (wal.exists() and wal.stat().st_size > 0):
                log.warning("the catalogue %s was empty (0 bytes); a new, empty catalogue is made in its place",
                            self.path)
            return
        if head != SQLITE_HEADER:
            raise CatalogueError(f"{self.path} is not a musicsim catalogue (it is not an SQLite database); "
                                 "move it away to start afresh.")
        self._check_ours()

    def _check_ours(self) -> None:
        """Refuse another program's SQLite database, or a newer musicsim's, before connecting read-write
        (which would switch it to WAL mode, changing its header). Read through ``immutable=1``: nothing
        is written, and what lives only in a ``-wal`` is not seen (a lagging main file is still ours)."""
        try:
            with contextlib.closing(sqlite3.connect(f"{self.path.as_uri()}?immutable=1", uri=True)) as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError:  # the main file alone may lag behind its WAL: the normal open decides
            return
        self._refuse_foreign(version, tables)

    def _refuse_foreign(self, version: int, tables: set[str]) -> None:
        if version > SCHEMA_VERSION:
            raise CatalogueError(f"{self.path} was written by a newer musicsim (schema {version}); upgrade musicsim.")
        if (version == 0 and tables) or (version > 0 and "tracks" not in tables):
            raise CatalogueError(f"{self.path} is not a musicsim catalogue (an SQLite database of another "
                                 "program); move it away or choose another --data-dir.")

    def check(self) -> None:
        """``PRAGMA quick_check`` (once per open catalogue); raises :class:`CatalogueDamaged`."""
        if self._checked:
            return
        try:
            rows = [r[0] for r in self.conn().execute("PRAGMA quick_check(5)")]
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                raise CatalogueDamaged(damaged_message(self.path, f"SQLite: {exc}")) from exc
            raise
        if rows != ["ok"]:
            found = [line for r in rows for line in str(r).splitlines() if line and not line.startswith("***")]
            log.info("the catalogue %s failed its check: %s", self.path, "; ".join(found))
            raise CatalogueDamaged(damaged_message(self.path, f"SQLite's check: {found[0] if found else rows[0]}"))
        self._checked = True

    def _ensure_id(self) -> str | None:
        """This catalogue's id (made once, kept in ``meta``); None on a read-only catalogue without one."""
        conn = self.conn()
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (ID_KEY,)).fetchone()
        if row is None and not self.read_only:
            with self.transaction() as c:
                c.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (ID_KEY, uuid.uuid4().hex))
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (ID_KEY,)).fetchone()
        return None if row is None else str(row[0])

    def _migrate(self) -> None:
        conn = self.conn()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        self._refuse_foreign(version, tables)
        if version < SCHEMA_VERSION and self.read_only:
            if version == 0:
                raise CatalogueReadOnly(f"There is no catalogue in {self.path.parent} yet, and none can be created "
                                        f"there: {self.read_only_reason}.")
            raise CatalogueReadOnly(f"The catalogue {self.path} is in an older format (schema {version}) and must be "
                                    f"upgraded, which needs writing to it: {self.read_only_reason}.")
        if version < SCHEMA_VERSION:
            with self.transaction() as c:  # re-checked inside: another process may have just done it
                version = c.execute("PRAGMA user_version").fetchone()[0]
                if version == 0:
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            c.execute(statement)
                    version = SCHEMA_VERSION  # the current schema: no step below applies
                if version == 1:
                    c.execute("ALTER TABLE tracks ADD COLUMN stamp INTEGER NOT NULL DEFAULT 0")
                    c.execute("UPDATE tracks SET stamp = (SELECT CAST(value AS INTEGER) FROM meta "
                              "WHERE key = 'generation')")
                if version in (1, 2):
                    for column in ("find_title", "find_artist", "find_text"):
                        c.execute(f"ALTER TABLE tracks ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
                    from musicsim.library.tags import TagInfo

                    rows = c.execute("SELECT id, path, title, artist, album FROM tracks").fetchall()
                    c.executemany("UPDATE tracks SET find_title = ?, find_artist = ?, find_text = ? WHERE id = ?",
                                  [(*_find_columns(p, TagInfo(t, a, al, None, None)), i) for i, p, t, a, al in rows])
                if version in (1, 2, 3):
                    _migrate_to_4(c)
                if version in (1, 2, 3, 4):
                    _migrate_to_5(c)
                c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- schema 4: the files' own genre tags ----------------------------------------------
    def set_tags(self, conn: sqlite3.Connection, track_id: int, tags: TagInfo) -> None:
        """New tags for an unchanged file (its analysis stays): catalogued before its genre tag was read."""
        conn.execute("UPDATE tracks SET title = ?, artist = ?, album = ?, track_number = ?, duration = ?, "
                     "genre_tag = ?, find_title = ?, find_artist = ?, find_text = ?, sort_artist = ? WHERE id = ?",
                     (tags.title, tags.artist, tags.album, tags.track_number, tags.duration, tags.genre_text,
                      *_find_columns(self._path(conn, track_id), tags), _sort_artist(tags), track_id))

    def retagged(self, track_id: int, size: int, mtime_ns: int, genre_tag: str) -> None:
        """musicsim rewrote this file's genre tag (audio unchanged): new size/mtime and genre, analysis kept,
        so the next scan does not take the file for a changed one."""
        with self.transaction() as conn:
            conn.execute("UPDATE tracks SET size = ?, mtime_ns = ?, genre_tag = ? WHERE id = ?",
                         (size, mtime_ns, genre_tag, track_id))

    def file_size_mtime(self, track_id: int) -> tuple[int, int] | None:
        row = self.conn().execute("SELECT size, mtime_ns FROM tracks WHERE id = ?", (track_id,)).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    @staticmethod
    def _path(conn: sqlite3.Connection, track_id: int) -> str:
        row = conn.execute("SELECT path FROM tracks WHERE id = ?", (track_id,)).fetchone()
        return row[0] if row else ""

    def _bump(self, conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")

    def generation(self) -> int:
        return int(self.conn().execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])

    # -- catalogue pass --------------------------------------------------------------------
    def known_under(self, root: str) -> dict[str, KnownFile]:
        lo, hi = under(root)
        rows = self.conn().execute(
            "SELECT path, id, size, mtime_ns, genre_tag IS NOT NULL FROM tracks WHERE path >= ? AND path < ?", (lo, hi))
        return {p: KnownFile(i, s, m, bool(g)) for p, i, s, m, g in rows}

    def add(self, conn: sqlite3.Connection, found: FoundFile, tags: TagInfo) -> int:
        cur = conn.execute(
            "INSERT INTO tracks (path, size, mtime_ns, title, artist, album, track_number, duration, added_at, "
            "find_title, find_artist, find_text, genre_tag, sort_artist) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (found.path, found.size, found.mtime_ns, tags.title, tags.artist, tags.album, tags.track_number,
             tags.duration, time.time(), *_find_columns(found.path, tags), tags.genre_text, _sort_artist(tags)))
        return int(cur.lastrowid or 0)

    def mark_changed(self, conn: sqlite3.Connection, track_id: int, found: FoundFile, tags: TagInfo) -> None:
        """New size/mtime and tags; the old analysis is dropped and the track is pending again."""
        conn.execute(
            "UPDATE tracks SET size = ?, mtime_ns = ?, title = ?, artist = ?, album = ?, track_number = ?, "
            "duration = ?, status = 'pending', error = NULL, model_version = NULL, genre_probs = NULL, "
            "tag_probs = NULL, embedding = NULL, n_segments = NULL, analysed_at = NULL, find_title = ?, "
            "find_artist = ?, find_text = ?, genre_tag = ?, sort_artist = ? WHERE id = ?",
            (found.size, found.mtime_ns, tags.title, tags.artist, tags.album, tags.track_number, tags.duration,
             *_find_columns(found.path, tags), tags.genre_text, _sort_artist(tags), track_id))
        self._bump(conn)

    def remove(self, conn: sqlite3.Connection, track_ids: Iterable[int]) -> None:
        conn.executemany("DELETE FROM tracks WHERE id = ?", [(i,) for i in track_ids])
        self._bump(conn)

    def replace_skipped(self, conn: sqlite3.Connection, root: str, skipped: Sequence[Skipped]) -> None:
        """The scan-time problems under ``root`` become exactly ``skipped``."""
        lo, hi = under(root)
        conn.execute("DELETE FROM skipped WHERE path = ? OR (path >= ? AND path < ?)", (root, lo, hi))
        conn.executemany("INSERT OR REPLACE INTO skipped (path, reason) VALUES (?, ?)",
                         [(s.path, s.reason) for s in skipped])

    # -- analysis --------------------------------------------------------------------------
    def register_model(self, info: ModelInfo) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO models (version, genres, tags, embedding_size) VALUES (?, ?, ?, ?)",
                         (info.version, json.dumps(info.genres), json.dumps(info.tags), info.embedding_size))
        self._models[info.version] = info

    def model(self, version: str | None) -> ModelInfo | None:
        if version is None:
            return None
        if version not in self._models:
            row = self.conn().execute("SELECT genres, tags, embedding_size FROM models WHERE version = ?",
                                      (version,)).fetchone()
            if row is None:
                return None
            self._models[version] = ModelInfo(version, json.loads(row[0]), json.loads(row[1]), int(row[2]))
        return self._models[version]

    def pending_jobs(self, model_version: str, root: str | None = None) -> list[tuple[int, str]]:
        """``(id, path)`` of tracks never analysed, changed, or analysed by another model version
        (only those inside folder ``root`` when given)."""
        inside, bounds = _scope(root)
        rows = self.conn().execute(
            "SELECT id, path FROM tracks WHERE (status = 'pending' OR (status = 'analysed' AND model_version IS NOT ?))"
            f"{inside} ORDER BY id", (model_version, *bounds))
        return [(int(i), p) for i, p in rows]

    def write_results(self, model_version: str, rows: Sequence[AnalysisRow]) -> int:
        """Store a batch of outcomes in one transaction; returns the new generation."""
        now = time.time()
        with self.transaction() as conn:
            self._bump(conn)
            generation = int(conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])
            for r in rows:
                if r.error is not None:
                    conn.execute(
                        "UPDATE tracks SET status = 'failed', error = ?, model_version = ?, genre_probs = NULL, "
                        "tag_probs = NULL, embedding = NULL, n_segments = NULL, analysed_at = ? WHERE id = ?",
                        (r.error, model_version, now, r.track_id))
                else:
                    conn.execute(
                        "UPDATE tracks SET status = 'analysed', error = NULL, model_version = ?, genre_probs = ?, "
                        "tag_probs = ?, embedding = ?, n_segments = ?, analysed_at = ?, stamp = ? WHERE id = ?",
                        (model_version, _blob(r.genre_probs), _blob(r.tag_probs), _blob(r.embedding),
                         r.n_segments, now, generation, r.track_id))
            return generation

    # -- queries ---------------------------------------------------------------------------
    def active_version(self) -> str | None:
        """The model version most analysed tracks have (ties: the most recent); None before any analysis."""
        row = self.conn().execute(
            "SELECT model_version FROM tracks WHERE status = 'analysed' GROUP BY model_version "
            "ORDER BY COUNT(*) DESC, MAX(analysed_at) DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def counts(self, model_version: str | None, root: str | None = None) -> tuple[int, int, int, int]:
        """``(tracks, analysed, pending, failed)`` (inside folder ``root``); analyses by another model
        version count as pending."""
        inside, bounds = _scope(root)
        total, analysed, failed = self.conn().execute(
            "SELECT COUNT(*), COALESCE(SUM(status = 'analysed' AND model_version IS ?), 0), "
            f"COALESCE(SUM(status = 'failed'), 0) FROM tracks WHERE 1{inside}", (model_version, *bounds)).fetchone()
        return int(total), int(analysed), int(total - analysed - failed), int(failed)

    def embeddings(self, model_version: str, root: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, matrix)`` of every track analysed with ``model_version`` (inside folder ``root``)."""
        inside, bounds = _scope(root)
        rows = self.conn().execute(
            f"SELECT id, embedding FROM tracks WHERE status = 'analysed' AND model_version = ?{inside} ORDER BY id",
            (model_version, *bounds)).fetchall()
        if not rows:
            info = self.model(model_version)
            return np.zeros(0, np.int64), np.zeros((0, info.embedding_size if info else 0), np.float32)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return ids, np.stack([_vector(r[1]) for r in rows])

    def tag_probabilities(self, model_version: str, root: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, (n, tags) matrix)`` of the tag probabilities of tracks analysed with ``model_version``."""
        inside, bounds = _scope(root)
        info = self.model(model_version)
        width = len(info.tags) if info else 0
        rows = self.conn().execute(
            f"SELECT id, tag_probs FROM tracks WHERE status = 'analysed' AND model_version = ? "
            f"AND tag_probs IS NOT NULL{inside} ORDER BY id", (model_version, *bounds)).fetchall()
        rows = [r for r in rows if width and len(r[1]) == 4 * width]
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, width), np.float32)
        return (np.array([r[0] for r in rows], np.int64),
                np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(len(rows), width))

    def genre_tags(self, root: str | None = None) -> dict[int, str]:
        """``id -> genre tag text`` of the tracks whose file has a genre tag (inside folder ``root``)."""
        inside, bounds = _scope(root)
        rows = self.conn().execute(f"SELECT id, genre_tag FROM tracks WHERE genre_tag != ''{inside}", bounds)
        return {int(i): g for i, g in rows}

    def analysed_ids(self, model_version: str, root: str | None = None) -> np.ndarray:
        """Ids of the tracks analysed with ``model_version`` (inside folder ``root``), ascending."""
        inside, bounds = _scope(root)
        rows = self.conn().execute(
            f"SELECT id FROM tracks WHERE status = 'analysed' AND model_version = ?{inside} ORDER BY id",
            (model_version, *bounds))
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def changes_since(self, model_version: str, generation: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(live ids, changed ids, their vectors)``: every track analysed with ``model_version``, and
        those whose embedding was written after ``generation``."""
        conn = self.conn()
        live = np.array([r[0] for r in conn.execute(
            "SELECT id FROM tracks WHERE status = 'analysed' AND model_version = ?", (model_version,))], np.int64)
        rows = conn.execute("SELECT id, embedding FROM tracks WHERE status = 'analysed' AND model_version = ? "
                            "AND stamp > ? ORDER BY id", (model_version, generation)).fetchall()
        if not rows:
            return live, np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        return live, np.array([r[0] for r in rows], np.int64), np.stack([_vector(r[1]) for r in rows])

    def embeddings_for(self, ids: Sequence[int], model_version: str) -> dict[int, np.ndarray]:
        """Embeddings of those ``ids`` analysed with ``model_version``."""
        out: dict[int, np.ndarray] = {}
        ids = [int(i) for i in ids]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.conn().execute(
                f"SELECT id, embedding FROM tracks WHERE id IN ({marks}) AND status = 'analysed' "
                "AND model_version = ?", (*chunk, model_version))
            out.update((int(i), _vector(e)) for i, e in rows)
        return out

    def embedding(self, track_id: int) -> tuple[str | None, np.ndarray | None]:
        row = self.conn().execute("SELECT model_version, embedding FROM tracks WHERE id = ? AND status = 'analysed'",
                                  (track_id,)).fetchone()
        return (row[0], _array(row[1])) if row else (None, None)

    def _probs(self, versions: Sequence[str | None], blobs: Sequence[bytes | None],
               kind: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per model version: the row numbers whose ``kind`` ("genres"/"tags") blob fits that model, and
        those blobs as one ``(rows, width)`` matrix."""
        groups: dict[str, list[tuple[int, bytes]]] = {}
        for i, (version, blob) in enumerate(zip(versions, blobs)):
            if blob is not None and version is not None:
                groups.setdefault(version, []).append((i, blob))
        out = {}
        for version, rows in groups.items():
            info = self.model(version)
            width = len(getattr(info, kind)) if info is not None else 0
            fitting = [(i, b) for i, b in rows if width and len(b) == 4 * width]
            if fitting:
                idx = [i for i, _ in fitting]
                matrix = np.frombuffer(b"".join(b for _, b in fitting), dtype=np.float32).reshape(len(idx), width)
                out[version] = (np.array(idx), matrix)
        return out

    def _tracks(self, rows: Sequence[tuple]) -> list[Track]:
        """Rows of ``_TRACK_COLUMNS`` as Tracks; top genre and tags are found for all rows at once (100 000
        rows: numpy, not 100 000 small argsorts)."""
        n = len(rows)
        if not n:
            return []
        (ids, paths, titles, artists, albums, numbers, durations, statuses, errors, versions, genre_b, tag_b,
         genre_tags) = zip(*rows)
        # per-row values go into object arrays by index (numpy, not a Python loop per row)
        genre = np.full(n, None, dtype=object)
        confidence = np.full(n, None, dtype=object)
        labels = np.full(n, None, dtype=object)
        tags: list[list[tuple[str, float]] | None] = [None] * n
        genre_sets = self._probs(versions, genre_b, "genres")
        tag_sets = self._probs(versions, tag_b, "tags")
        for version, (idx, probs) in genre_sets.items():
            info = self._models[version]
            names = np.array([g.lower() for g in info.genres], dtype=object)
            best, top_p = corrected_top(probs, info.genres, info.tags)  # prior-corrected, calibrated
            genre[idx] = names[best]
            confidence[idx] = top_p.astype(np.float64)
            tag_idx, tag_probs = tag_sets.get(version, (np.zeros(0, np.int64), None))
            if tag_probs is not None and len(tag_idx) == len(idx) and np.array_equal(tag_idx, idx):
                found = label_tracks(probs, tag_probs, info.genres, info.tags)
            else:  # no tags (or not for every row): the label is the genre alone
                found = label_tracks(probs, None, info.genres, info.tags)
            labels[idx] = _objects(found)
        for version, (idx, probs) in tag_sets.items():
            names = np.array(self._models[version].tags, dtype=object)
            order = np.argsort(-probs, axis=1)[:, :TOP_TAGS]
            values = np.round(np.take_along_axis(probs, order, axis=1).astype(np.float64), 4).tolist()
            top: list[list[tuple[str, float]] | None] = [list(zip(picked, vals))
                                                         for picked, vals in zip(names[order].tolist(), values)]
            if len(idx) == n:  # every row (idx ascending): as they are
                tags = top
            else:
                for i, row in zip(idx.tolist(), top):
                    tags[i] = row
        file_genres = [primary(g.split("; ")) if g else None for g in genre_tags]
        return list(map(Track, ids, paths, titles, artists, albums, numbers, durations, statuses, genre.tolist(),
                        confidence.tolist(), [[] if t is None else t for t in tags], errors, file_genres,
                        labels.tolist()))

    def track(self, track_id: int) -> Track | None:
        row = self.conn().execute(f"SELECT {_TRACK_COLUMNS} FROM tracks WHERE id = ?", (track_id,)).fetchone()
        return self._tracks([row])[0] if row else None

    def track_by_path(self, path: str) -> Track | None:
        row = self.conn().execute(f"SELECT {_TRACK_COLUMNS} FROM tracks WHERE path = ?", (path,)).fetchone()
        return self._tracks([row])[0] if row else None

    def tracks(self, ids: Sequence[int] | None = None, root: str | None = None) -> list[Track]:
        """Every track (inside folder ``root``) ordered by artist, album, track number, path; or the given
        ids, in that order."""
        conn = self.conn()
        if ids is None:
            inside, bounds = _scope(root)
            with _gc_paused():
                return self._tracks(conn.execute(
                    f"SELECT {_TRACK_COLUMNS} FROM tracks WHERE 1{inside} ORDER BY artist COLLATE NOCASE, "
                    "album COLLATE NOCASE, track_number, path", bounds).fetchall())
        ids = [int(i) for i in ids]
        rows = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows += conn.execute(f"SELECT {_TRACK_COLUMNS} FROM tracks WHERE id IN ({marks})", chunk).fetchall()
        position = {i: n for n, i in enumerate(ids)}
        rows.sort(key=lambda r: position[r[0]])
        return self._tracks(rows)

    def track_chunks(self, root: str | None = None, first: int = 500, size: int = 5000) -> Iterator[list[Track]]:
        """Every track (inside folder ``root``) in the library table's default order (``sort_artist``, then
        id), ``first`` tracks, then ``size`` at a time: read along the ``tracks_table_order`` index, so the
        first chunk comes at once whatever the library's size (no sort of every row first)."""
        inside, bounds = _scope(root, "+path")  # +path: the order's index, never the path index plus a sort
        cursor = self.conn().execute(
            f"SELECT {_TRACK_COLUMNS} FROM tracks INDEXED BY tracks_table_order WHERE 1{inside} "
            "ORDER BY sort_artist, id", bounds)
        try:
            rows = cursor.fetchmany(max(1, first))
            while rows:
                with _gc_paused():
                    chunk = self._tracks(rows)
                yield chunk
                rows = cursor.fetchmany(max(1, size))
        finally:
            cursor.close()

    def find_text(self, query: str) -> int | None:
        """The id of the track best matching ``query`` (the first of :meth:`find_text_matches`)."""
        ids, _ = self.find_text_matches(query, limit=1)
        return ids[0] if ids else None

    def find_text_matches(self, query: str, limit: int = 6, root: str | None = None) -> tuple[list[int], int]:
        """``(ids, count)``: the best ``limit`` tracks matching ``query``, best first, and how many match.

        An exact folded title (or ``artist - title``) first, else one whose artist/title/album/file name
        holds every word; then tracks inside folder ``root``, analysed tracks, the oldest.
        """
        q = fold(query)
        words = q.split()
        if not words:
            return [], 0
        exact = "(find_title = ? OR find_artist || ' - ' || find_title = ? OR find_artist || ' ' || find_title = ?)"
        where = " AND ".join(["instr(find_text, ?) > 0"] * len(words))
        params: tuple[str, ...] = tuple(words)
        if " - " in q:  # the only exact form whose words ("-") need not all be in find_text
            where, params = f"({where}) OR find_artist || ' - ' || find_title = ?", (*params, q)
        inside, bounds = ("(path >= ? AND path < ?) DESC, ", under(root)) if root is not None else ("", ())
        conn = self.conn()
        # COUNT(*) OVER (): how many match, from the same scan (a window is computed before the LIMIT)
        rows = conn.execute(f"SELECT id, COUNT(*) OVER () FROM tracks WHERE {where} ORDER BY {exact} DESC, {inside}"
                            "status = 'analysed' DESC, id LIMIT ?", (*params, q, q, q, *bounds, limit)).fetchall()
        return [int(r[0]) for r in rows], int(rows[0][1]) if rows else 0

    def problems(self, root: str | None = None) -> list[Problem]:
        """Files that failed analysis and entries the scanner skipped (inside folder ``root``), by path."""
        inside, bounds = _scope(root)
        skipped_root = " OR path = ?" if root is not None else ""
        rows = self.conn().execute(
            f"SELECT path, error FROM tracks WHERE status = 'failed'{inside} UNION ALL "
            f"SELECT path, reason FROM skipped WHERE (1{inside}){skipped_root} ORDER BY 1",
            (*bounds, *bounds, *((root.rstrip(os.sep),) if root is not None else ())))
        return [Problem(path=p, reason=r or "unknown error") for p, r in rows]
