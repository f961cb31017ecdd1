"""The library's own genre tags: learning them, suggesting genres, writing them into files, undoing that.

The engine side of ``musicsim genres`` (file genre, suggestion), ``musicsim tag-genres`` and the app's
genre column; :class:`musicsim.library.library.Library` delegates here. No Qt, no printing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from musicsim.genres import learned
from musicsim.genres.names import primary
from musicsim.genres.retag import Journal, RetagError, undo_run, write_one
from musicsim.library.records import Track

if TYPE_CHECKING:
    from musicsim.library.catalogue import Catalogue

log = logging.getLogger(__name__)

# Suggestions below this probability are listed but not written by ``tag-genres --write`` unless asked
# (--min-confidence). A default (the classifier's probability: even odds), not a measured threshold.
WRITE_MIN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class GenreSuggestion:
    """A genre for one file, learned from the library's other files' tags."""

    track: Track
    genre: str
    confidence: float

    def to_json(self) -> dict:
        t = self.track
        return {"path": t.path, "title": t.title, "artist": t.artist, "album": t.album,
                "file_genre": t.file_genre, "suggested_genre": self.genre,
                "suggested_confidence": round(self.confidence, 6)}


@dataclass
class GenreAgreement:
    """How often musicsim's suggestions agree with the user's tags (cross-validated over tagged files)."""

    tagged: int  # analysed files with a genre tag
    learned_genres: dict[str, int]  # genre -> tagged files, for genres with enough examples
    files: int  # tagged files of those genres (the ones cross-validated)
    agreed: int
    balanced: float | None  # mean per-genre agreement
    per_genre: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def share(self) -> float | None:
        return self.agreed / self.files if self.files else None

    def to_json(self) -> dict:
        return {"tagged": self.tagged, "learned_genres": self.learned_genres, "files": self.files,
                "agreed": self.agreed, "share": self.share, "balanced": self.balanced,
                "per_genre": {g: {"agreed": a, "files": n} for g, (a, n) in self.per_genre.items()}}


@dataclass
class RetagReport:
    written: list[Track] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    run: str | None = None


@dataclass
class UndoReport:
    restored: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    run: str | None = None


class OwnGenres:
    """Learned genres for one catalogue (the classifier is refitted when tags or analyses change)."""

    def __init__(self, catalogue: Catalogue, data_dir) -> None:
        self.catalogue = catalogue
        self.journal = Journal(data_dir)
        self._cache: tuple[object, learned.LearnedGenres | None] | None = None

    def _training(self, version: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """``(ids, embeddings, genres)`` of the analysed files with a genre tag (the whole library)."""
        tagged = self.catalogue.genre_tags()
        names: dict[int, str] = {}
        for i, text in tagged.items():
            genre = primary(text.split("; "))
            if genre:
                names[i] = genre
        vectors = self.catalogue.embeddings_for(sorted(names), version)
        ids = np.array(sorted(vectors), np.int64)
        x = np.stack([vectors[i] for i in ids]) if len(ids) else np.zeros((0, 0), np.float32)
        return ids, x, [names[int(i)] for i in ids]

    def classifier(self, version: str | None) -> learned.LearnedGenres | None:
        if version is None:
            return None
        state = (version, self.catalogue.generation(), hash(frozenset(self.catalogue.genre_tags().items())))
        if self._cache is not None and self._cache[0] == state:
            return self._cache[1]
        _, x, labels = self._training(version)
        model = learned.fit(x, labels) if len(labels) else None
        self._cache = (state, model)
        return model

    def agreement(self, version: str | None) -> GenreAgreement:
        if version is None:
            return GenreAgreement(0, {}, 0, 0, None)
        _, x, labels = self._training(version)
        genres = learned.learnable(labels)
        counts = {g: labels.count(g) for g in genres}
        a = learned.agreement(x, labels) if len(genres) >= 2 else learned.Agreement(0, 0, {})
        return GenreAgreement(len(labels), counts, a.files, a.agreed, a.balanced, a.per_genre)

    def fill_suggestions(self, tracks: Sequence[Track], version: str | None) -> None:
        """Set ``suggested_genre``/``suggested_confidence`` on the analysed ``tracks`` without a file genre."""
        model = self.classifier(version)
        if model is None or version is None:
            return
        wanted = [t for t in tracks if t.file_genre is None and t.status == "analysed"]
        vectors = self.catalogue.embeddings_for([t.id for t in wanted], version)
        wanted = [t for t in wanted if t.id in vectors]
        if not wanted:
            return
        for t, (g, p) in zip(wanted, model.suggest(np.stack([vectors[t.id] for t in wanted]))):
            t.suggested_genre, t.suggested_confidence = g, p

    def suggestions(self, tracks: Sequence[Track], version: str | None,
                    overwrite: bool = False) -> list[GenreSuggestion]:
        """A genre for each analysed track without a file genre (with ``overwrite``: for every analysed track
        whose file genre differs from the suggestion)."""
        model = self.classifier(version)
        if model is None or version is None:
            return []
        wanted = [t for t in tracks if t.status == "analysed" and (overwrite or t.file_genre is None)]
        vectors = self.catalogue.embeddings_for([t.id for t in wanted], version)
        wanted = [t for t in wanted if t.id in vectors]
        if not wanted:
            return []
        out = [GenreSuggestion(t, g, p) for t, (g, p) in zip(wanted, model.suggest(np.stack([vectors[t.id]
                                                                                              for t in wanted])))]
        return [s for s in out if s.genre != s.track.file_genre]

    def write(self, suggestions: Sequence[GenreSuggestion],
              progress: Callable[[int, int], None] | None = None) -> RetagReport:
        """Write each suggestion's genre into its file (one journal run); the catalogue learns the new
        size, mtime and genre tag, so the next scan does not re-analyse the file."""
        report = RetagReport()
        if not suggestions:
            return report
        run = self.journal.new_run()
        report.run = run.name
        for n, s in enumerate(suggestions):
            try:
                w = write_one(s.track.path, s.genre, run, n, s.track.id)
            except RetagError as exc:
                log.warning("genre not written into %s: %s", s.track.path, exc)
                report.failed.append((s.track.path, str(exc)))
            else:
                self.catalogue.retagged(s.track.id, w.size, w.mtime_ns, s.genre)
                s.track.file_genre = s.genre
                report.written.append(s.track)
            if progress is not None:
                progress(n + 1, len(suggestions))
        return report

    def undo(self) -> UndoReport:
        """Undo the most recent write run that is not undone yet."""
        runs = self.journal.runs()
        if not runs:
            return UndoReport()
        run = runs[-1]
        restored, problems = undo_run(run)
        for r in restored:
            if r.track_id is not None:
                known = self.catalogue.track_by_path(r.path)
                if known is not None:
                    from musicsim.library.tags import read_tags

                    self.catalogue.retagged(known.id, r.size, r.mtime_ns, read_tags(r.path).genre_text)
        return UndoReport(len(restored), problems, run.name)
