"""Plain records the library hands to the CLI and the app (no Qt, no SQL)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from musicsim.formatting import track_label
from musicsim.genres.label import GenreLabel


@dataclass(slots=True)  # 100 000 of them in the app: no __dict__ each
class Track:
    """One catalogued file, with its tags and (once analysed) its predicted genre."""

    id: int
    path: str
    title: str
    artist: str
    album: str
    track_number: int | None
    duration: float | None  # seconds, from the tags/stream info
    status: str  # "pending" | "analysed" | "failed"
    genre: str | None = None  # top genre, lower case, once analysed
    confidence: float | None = None  # probability of ``genre``
    tags: list[tuple[str, float]] = field(default_factory=list)  # top extra tags (name, probability), best first
    error: str | None = None  # reason, when status == "failed"
    file_genre: str | None = None  # the file's own genre tag (first genre named, normalised), None: untagged
    genre_label: GenreLabel | None = None  # the label people see (musicsim.genres.label), once analysed
    suggested_genre: str | None = None  # from the library's own genre tags (Library.genre_suggestions)
    suggested_confidence: float | None = None

    @property
    def display_title(self) -> str:
        """The title tag, or the file name without its extension when the tag is empty."""
        return self.title or os.path.splitext(os.path.basename(self.path))[0]

    def label(self, separator: str = " - ") -> str:
        """``Artist - Title`` (the title alone without an artist): how a track is named to people."""
        return track_label(self.display_title, self.artist, separator)

    def to_genre_json(self) -> dict[str, Any]:
        """``musicsim genres --json`` row (docs/cli.md)."""
        lab = self.genre_label
        return {"path": self.path, "title": self.title, "artist": self.artist, "album": self.album,
                "genre": self.genre, "confidence": round(float(self.confidence or 0.0), 6),
                "label": lab.name if lab else None,
                "label_confidence": round(lab.confidence, 6) if lab else None,
                "uncertain": bool(lab.uncertain) if lab else True,
                "label_candidates": [[n, round(p, 6)] for n, p in lab.candidates] if lab else [],
                "tags": [[name, prob] for name, prob in self.tags],
                "file_genre": self.file_genre, "suggested_genre": self.suggested_genre,
                "suggested_confidence": None if self.suggested_confidence is None
                else round(float(self.suggested_confidence), 6)}


@dataclass
class SimilarTrack:
    track: Track
    score: float  # cosine similarity to the seed, in [-1, 1]

    def to_json(self) -> dict[str, Any]:
        t = self.track
        return {"path": t.path, "title": t.title, "artist": t.artist, "album": t.album,
                "genre": t.genre, "score": round(float(self.score), 6)}


@dataclass
class Resolution:
    """Which track a QUERY named: ``track``, and the other tracks that also match (``matches`` in all)."""

    query: str
    track: Track
    others: list[Track] = field(default_factory=list)  # the next best matches (a few, not all)
    matches: int = 1  # how many tracks match; 1 for a file path

    @property
    def ambiguous(self) -> bool:
        return self.matches > 1


@dataclass
class LibraryStatus:
    tracks: int
    analysed: int
    pending: int
    failed: int
    model_version: str | None
    device: str
    model_problem: str | None = None  # why the model file cannot be used (missing, rejected: why)
    read_only: str | None = None  # why the library can only be read (read-only or full disk), else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Problem:
    path: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SyncReport:
    """What a catalogue pass over a folder found (no audio decoded)."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: int = 0  # not audio / unreadable entries, recorded as problems
    cancelled: bool = False  # stopped before the whole folder was seen (nothing was removed)


@dataclass
class AnalysisProgress:
    """Reported during analysis, at least once a second while work is being done."""

    done: int  # tracks finished in this run (analysed or failed)
    total: int  # tracks this run set out to analyse
    failed: int
    elapsed_s: float
    eta_s: float | None
    current_path: str | None = None
    finished_ids: list[int] = field(default_factory=list)  # track ids stored since the previous report


@dataclass
class AnalysisReport:
    analysed: int = 0
    failed: int = 0
    cancelled: bool = False
    elapsed_s: float = 0.0
