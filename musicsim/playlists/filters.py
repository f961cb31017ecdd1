"""The rules every playlist builder shares, and the records they work on.

Always on: never a seed, never a second copy of one recording (the same audio in another format or
folder: near-identical embedding and near-equal duration, measured below), never a track twice.
Chosen by the user (:class:`Filters`): a per-artist and a per-album cap, genres, a duration range and
folders to leave out.

Builders are plain functions over a :class:`Pool` (tracks and their unit embeddings as one matrix);
:class:`Selection` applies the rules to one growing list, in the order the builder offers tracks.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from musicsim.library.records import SimilarTrack, Track

# Two files are copies of one recording when their embeddings' cosine similarity is at least this
# and their durations differ by at most DUPLICATE_DURATION_S. Measured with the shipped model
# musicnn-msd-gtzan-2 (centred embedding) on 40 GTZAN clips x 7 encodings
# (benchmarks/bench_duplicates.py --per-genre 4): copies >= 0.9873, different clips <= 0.9714; on the
# 456 songs of the game-music corpus different songs <= 0.9735 (docs/evaluation/similarity.md). With the
# uncentred musicnn-msd-1 embedding the margin was 0.001 (copies >= 0.9835, different <= 0.9822).
DUPLICATE_SIMILARITY = 0.98
DUPLICATE_DURATION_S = 1.0


@dataclass(frozen=True)
class Filters:
    """What a playlist may hold, beyond the rules that are always on (module docstring).

    Tracks without an artist (album) tag are never capped: they are not known to share one. Tracks
    of unknown duration pass the duration range. ``exclude_genres`` are lower-case names matched
    against :func:`genres_of`; ``exclude_folders`` are absolute folder paths.
    """

    max_per_artist: int | None = 2  # None: no cap
    max_per_album: int | None = None
    exclude_genres: frozenset[str] = frozenset()
    min_duration: float | None = None  # seconds
    max_duration: float | None = None
    exclude_folders: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("max_per_artist", "max_per_album"):
            cap = getattr(self, name)
            if cap is not None and cap < 1:
                raise ValueError(f"{name} must be at least 1 (None: no cap), not {cap}")
        object.__setattr__(self, "exclude_genres", frozenset(g.strip().lower() for g in self.exclude_genres))
        object.__setattr__(self, "exclude_folders",
                           tuple(os.path.abspath(os.path.expanduser(f)).rstrip(os.sep) or os.sep
                                 for f in self.exclude_folders))

    def admits(self, track: Track) -> bool:
        """Whether ``track`` passes the rules that do not depend on the rest of the list."""
        d = track.duration
        if d is not None and ((self.min_duration is not None and d < self.min_duration)
                              or (self.max_duration is not None and d > self.max_duration)):
            return False
        if self.exclude_genres and not self.exclude_genres.isdisjoint(genres_of(track)):
            return False
        return not any(track.path.startswith(folder if folder.endswith(os.sep) else folder + os.sep)
                       for folder in self.exclude_folders)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (sorted lists): :meth:`from_dict` gives the same filters back."""
        return {"max_per_artist": self.max_per_artist, "max_per_album": self.max_per_album,
                "exclude_genres": sorted(self.exclude_genres), "min_duration": self.min_duration,
                "max_duration": self.max_duration, "exclude_folders": list(self.exclude_folders)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Filters:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in d.items() if k in known}
        if "exclude_genres" in values:
            values["exclude_genres"] = frozenset(values["exclude_genres"])
        if "exclude_folders" in values:
            values["exclude_folders"] = tuple(values["exclude_folders"])
        return cls(**values)


def genres_of(track: Track) -> set[str]:
    """The genre names a track is known by, lower case: the predicted ten-genre answer, the label the
    app shows (its best candidate when uncertain: "electronic" can be left out though GTZAN lacks it) and,
    where the record has one, the file's own genre tag. The one place to extend when records gain genre
    fields."""
    label = getattr(track, "genre_label", None)
    names = (track.genre, label.name if label is not None else None, getattr(track, "file_genre", None))
    return {n.strip().lower() for n in names if isinstance(n, str) and n.strip()}


def artist_key(track: Track) -> str:
    return track.artist.strip().casefold()


def album_key(track: Track) -> str:
    """The album name, case-folded: a compilation or soundtrack's tracks share it whatever their artists."""
    return track.album.strip().casefold()


def same_recording(a_emb: np.ndarray, a_duration: float | None, b_emb: np.ndarray, b_duration: float | None,
                   min_similarity: float = DUPLICATE_SIMILARITY,
                   max_duration_diff: float = DUPLICATE_DURATION_S) -> bool:
    """Whether two analysed files hold the same recording."""
    if float(np.dot(a_emb, b_emb)) < min_similarity:
        return False
    if a_duration is None or b_duration is None:
        return True
    return abs(a_duration - b_duration) <= max_duration_diff


@dataclass(frozen=True)
class Candidate:
    """A track with its unit embedding and a builder's score for it."""

    track: Track
    score: float
    embedding: np.ndarray  # L2-normalised


@dataclass
class Pool:
    """Tracks and their unit embeddings as one ``(n, d)`` matrix (row i is ``tracks[i]``)."""

    tracks: list[Track]
    vectors: np.ndarray

    def __post_init__(self) -> None:
        vectors = np.asarray(self.vectors, np.float32)
        if vectors.ndim != 2:
            vectors = vectors.reshape(len(self.tracks), -1) if len(self.tracks) else np.zeros((0, 0), np.float32)
        if len(vectors) != len(self.tracks):
            raise ValueError(f"{len(self.tracks)} tracks but {len(vectors)} vectors")
        self.vectors = vectors

    def __len__(self) -> int:
        return len(self.tracks)

    @classmethod
    def of(cls, items: Iterable[tuple[Track, np.ndarray]], dim: int = 0) -> Pool:
        """A pool of ``(track, embedding)`` pairs; a track met again is kept once."""
        tracks: list[Track] = []
        vectors: list[np.ndarray] = []
        seen: set[int] = set()
        for track, vector in items:
            if track.id not in seen:
                seen.add(track.id)
                tracks.append(track)
                vectors.append(np.asarray(vector, np.float32))
        if not vectors:
            return cls([], np.zeros((0, dim), np.float32))
        return cls(tracks, np.stack(vectors))

    def without(self, ids: Iterable[int]) -> Pool:
        drop = set(ids)
        keep = [i for i, t in enumerate(self.tracks) if t.id not in drop]
        return Pool([self.tracks[i] for i in keep], self.vectors[keep])

    def merged(self, other: Pool) -> Pool:
        return Pool.of([*zip(self.tracks, self.vectors), *zip(other.tracks, other.vectors)],
                       dim=self.vectors.shape[1] if self.vectors.ndim == 2 else 0)


def usable(pool: Pool, filters: Filters, seeds: Sequence[tuple[Track, np.ndarray]] = ()) -> np.ndarray:
    """Which of ``pool``'s tracks a list from ``seeds`` may hold at all (before any caps): not a seed,
    not a copy of a seed's recording, admitted by ``filters``. A boolean mask, computed at once."""
    ids = {t.id for t, _ in seeds}
    paths = {t.path for t, _ in seeds}
    ok = np.array([t.id not in ids and t.path not in paths and filters.admits(t) for t in pool.tracks], bool)
    if seeds and len(pool):
        sims = pool.vectors @ np.stack([np.asarray(v, np.float32) for _, v in seeds]).T  # (n, seeds)
        durations = np.array([np.nan if t.duration is None else t.duration for t in pool.tracks])
        seed_durations = np.array([np.nan if t.duration is None else t.duration for t, _ in seeds])
        apart = np.abs(durations[:, None] - seed_durations[None, :]) > DUPLICATE_DURATION_S  # NaN: not apart
        ok &= ~((sims >= DUPLICATE_SIMILARITY) & ~apart).any(axis=1)
    return ok.reshape(len(pool))


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` scaled to length 1 (a zero vector stays zero)."""
    v = np.asarray(v, np.float32)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


@dataclass
class Selection:
    """One playlist being built: :meth:`offer` adds a track when every rule allows it.

    ``seeds`` (tracks and embeddings) are never added, nor copies of their recordings. Caps count
    ``counted`` tracks too (e.g. a journey's fixed ends), which are themselves not part of the list.
    ``window``: the caps count only the last ``window`` tracks (radio); None counts the whole list.
    """

    filters: Filters
    seeds: Sequence[tuple[Track, np.ndarray]] = ()
    counted: Sequence[Track] = ()
    window: int | None = None
    kept: list[Candidate] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._ids = {t.id for t, _ in self.seeds}
        self._paths = {t.path for t, _ in self.seeds}
        self._vectors: list[np.ndarray] = [np.asarray(e, np.float32) for _, e in self.seeds]
        self._durations: list[float] = [np.nan if t.duration is None else t.duration for t, _ in self.seeds]
        self._matrix: tuple[np.ndarray, np.ndarray] | None = None  # the two lists above, stacked
        self._recent: list[Track] = list(self.counted)

    def _copies(self, embedding: np.ndarray, duration: float | None) -> bool:
        """Whether a seed or a listed track holds the same recording (:func:`same_recording`)."""
        if not self._vectors:
            return False
        if self._matrix is None:
            self._matrix = np.stack(self._vectors), np.array(self._durations, np.float64)
        matrix, durations = self._matrix
        close = matrix @ np.asarray(embedding, np.float32) >= DUPLICATE_SIMILARITY
        if duration is not None:
            close &= ~(np.abs(durations - duration) > DUPLICATE_DURATION_S)  # unknown durations: NaN, close
        return bool(close.any())

    def rejects(self, track: Track, embedding: np.ndarray) -> str | None:
        """Why ``track`` cannot be added now (None: it can)."""
        if track.id in self._ids or track.path in self._paths:
            return "already listed"
        if not self.filters.admits(track):
            return "filtered out"
        if self._copies(embedding, track.duration):
            return "a copy of a listed recording"
        recent = self._recent if self.window is None else self._recent[-self.window:]
        for cap, key in ((self.filters.max_per_artist, artist_key), (self.filters.max_per_album, album_key)):
            value = key(track)
            if cap is not None and value and sum(key(t) == value for t in recent) >= cap:
                return "cap reached"
        return None

    def offer(self, track: Track, embedding: np.ndarray, score: float) -> bool:
        """Add ``track`` if the rules allow it; returns whether it was added."""
        if self.rejects(track, embedding) is not None:
            return False
        self.add(track, embedding, score)
        return True

    def add(self, track: Track, embedding: np.ndarray, score: float) -> None:
        """Add ``track`` unconditionally (it still counts for every later rule)."""
        embedding = np.asarray(embedding, np.float32)
        self.kept.append(Candidate(track, float(score), embedding))
        self._ids.add(track.id)
        self._paths.add(track.path)
        self._vectors.append(embedding)
        self._durations.append(np.nan if track.duration is None else track.duration)
        self._matrix = None
        self._recent.append(track)

    def __len__(self) -> int:
        return len(self.kept)

    def result(self) -> list[SimilarTrack]:
        return [SimilarTrack(track=c.track, score=c.score) for c in self.kept]
