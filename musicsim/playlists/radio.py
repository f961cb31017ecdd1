"""Radio: an endless stream from one or more seeds that drifts with what is listened to.

Each seed has an *anchor*: the direction its picks are searched around, taken in turn (several seeds:
every seed's neighbourhood keeps its share). A song listened to pulls the nearest seed's anchor towards
it (more for more of it heard); the anchor stays tied to its seed, so the stream drifts but does not
wander off. A skipped song (Next pressed early) adds to a *negative direction* searches are steered
away from, and bars the songs nearest to it for the rest of the session. A session never hands out a
song twice, nor a copy of a recording already handed out; it honours every filter, the caps counting
the last :data:`CAP_WINDOW` songs. Everything is deterministic: the same seeds, library and history give
the same stream, and :meth:`RadioSession.to_dict` / :meth:`RadioSession.from_dict` carry a session
across a restart (the feedback is replayed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from musicsim.library.records import SimilarTrack, Track
from musicsim.playlists.filters import Filters, Pool, Selection, unit

if TYPE_CHECKING:
    from musicsim.library.library import Library

log = logging.getLogger(__name__)

FORMAT = 1
CAP_WINDOW = 20  # the per-artist and per-album caps count the last this many songs handed out
SEED_PULL = 0.4  # an anchor is this much its seed and the rest the songs listened to (moving average)
LISTEN_RATE = 0.3  # how far one fully heard song moves that moving average towards itself
SKIP_STEER = 0.5  # how far searches are pushed away from the negative direction (cosine units)
SKIP_DECAY = 0.7  # each later song heard keeps this much of the negative direction; each skip adds to it
SKIP_NEIGHBOURS = 5  # the songs this near a skipped song are not played in this session
DEFAULT_LENGTH_S = 240.0  # a song of unknown duration counts as this long when weighing how much was heard


@dataclass(frozen=True)
class Feedback:
    track_id: int
    listened_s: float
    skipped: bool


class Source:
    """Where a session finds songs: a nearest-neighbour search over the library (inside a folder scope).

    ``search(vector, k, exclude) -> Pool``: up to ``k`` nearest analysed tracks not in ``exclude``;
    ``total``: how many the scope holds; ``items(ids)``: tracks and embeddings by id (missing ones left out).
    """

    def __init__(self, search: Callable[[np.ndarray, int, set[int]], Pool], total: int,
                 items: Callable[[Sequence[int]], list[tuple[Track, np.ndarray]]]) -> None:
        self.search = search
        self.total = total
        self.items = items


class RadioSession:
    """One radio session (module docstring). Made by :meth:`Library.radio`."""

    def __init__(self, source: Source, seeds: Sequence[tuple[Track, np.ndarray]], filters: Filters,
                 root: str | None = None) -> None:
        if not seeds:
            raise ValueError("a radio needs at least one seed")
        self.source = source
        self.filters = filters
        self.root = root
        self.seeds = [(t, unit(v)) for t, v in seeds]
        self._pulled = [v.copy() for _, v in self.seeds]  # per seed: moving average of what was heard
        self.negative = np.zeros_like(self.seeds[0][1])
        self.history: list[int] = []
        self.feedback_log: list[Feedback] = []
        self.barred: set[int] = set()
        self._handed: dict[int, tuple[Track, np.ndarray]] = {}
        self._chosen = Selection(filters, seeds=self.seeds, window=CAP_WINDOW)

    # -- the stream --------------------------------------------------------------------------
    def anchor(self, i: int) -> np.ndarray:
        """Where seed ``i``'s picks are searched now: its seed and what was heard, steered from skips."""
        centre = unit(SEED_PULL * self.seeds[i][1] + (1 - SEED_PULL) * self._pulled[i])
        if np.any(self.negative):
            centre = unit(centre - SKIP_STEER * unit(self.negative))
        return centre

    @property
    def centre(self) -> np.ndarray:
        """The mean direction of the anchors (for display and measures)."""
        return unit(np.mean([self.anchor(i) for i in range(len(self.seeds))], axis=0))

    def next(self, k: int = 1) -> list[SimilarTrack]:
        """The next ``k`` songs (fewer only when the scope has no more songs the rules allow).

        Scores are cosine similarities to the anchor each song was found around.
        """
        out: list[SimilarTrack] = []
        m = len(self.seeds)
        anchors = [self.anchor(i) for i in range(m)]
        pools: dict[int, tuple[Pool, np.ndarray, int]] = {}  # per seed: (pool, scores, next position)
        dead: set[int] = set()  # seeds whose searches have nothing left
        while len(out) < k and len(dead) < m:
            i = len(self.history) % m
            while i in dead:
                i = (i + 1) % m
            track = self._take(i, anchors[i], pools, 2 * -(-k // m) + 16)
            if track is None:
                dead.add(i)
            else:
                out.append(track)
        return out

    def _take(self, i: int, anchor: np.ndarray, pools: dict[int, tuple[Pool, np.ndarray, int]],
              k: int) -> SimilarTrack | None:
        """The best allowed song around ``anchor``, searching wider as needed; None when none is left."""
        while True:
            if i not in pools:
                pool = self.source.search(anchor, k, self._excluded())
                pools[i] = (pool, pool.vectors @ anchor, 0)
            pool, scores, pos = pools[i]
            order = np.argsort(-scores, kind="stable")
            while pos < len(order):
                j = int(order[pos])
                pos += 1
                track = pool.tracks[j]
                if self._chosen.offer(track, pool.vectors[j], float(scores[j])):
                    pools[i] = (pool, scores, pos)
                    self.history.append(track.id)
                    self._handed[track.id] = (track, pool.vectors[j])
                    return SimilarTrack(track, float(scores[j]))
            if len(pool) < k or k >= self.source.total:
                return None  # the search saw every song it could
            del pools[i]
            k *= 4

    def _excluded(self) -> set[int]:
        return {*self.history, *self.barred, *(t.id for t, _ in self.seeds)}

    # -- listening -----------------------------------------------------------------------------
    def feedback(self, track_id: int, listened_s: float, skipped: bool) -> None:
        """What happened to a song: heard for ``listened_s`` seconds, or ``skipped`` (Next pressed early).
        Call it once per song played (one handed out, or one the listener chose); it moves the stream
        (module docstring). Songs no longer in the library are ignored."""
        item = self._handed.get(track_id)
        if item is None:
            found = self.source.items([track_id])
            if not found:
                log.info("radio feedback for track %d, which is not in the library any more", track_id)
                return
            item = found[0]
        self.feedback_log.append(Feedback(int(track_id), float(listened_s), bool(skipped)))
        self._apply(item, float(listened_s), bool(skipped))

    def _apply(self, item: tuple[Track, np.ndarray], listened_s: float, skipped: bool, replay: bool = False) -> None:
        track, vector = item
        vector = unit(vector)
        if skipped:
            self.negative = SKIP_DECAY * self.negative + vector
            if not replay and SKIP_NEIGHBOURS > 0:  # a replay has the barred songs from the saved state
                near = self.source.search(vector, SKIP_NEIGHBOURS, {track.id})
                self.barred.update(t.id for t in near.tracks)
            self.barred.add(track.id)
            return
        heard = min(1.0, max(0.0, listened_s / (track.duration or DEFAULT_LENGTH_S)))
        if heard <= 0:
            return
        i = int(np.argmax([float(v @ vector) for _, v in self.seeds]))
        self._pulled[i] = unit((1 - LISTEN_RATE * heard) * self._pulled[i] + LISTEN_RATE * heard * vector)
        self.negative = SKIP_DECAY * self.negative

    def forget(self, track_ids: Sequence[int]) -> None:
        """Take back songs handed out but never played (a queue refilled after a skip): they may come again."""
        drop = set(track_ids) - {f.track_id for f in self.feedback_log}
        if not drop:
            return
        self.history = [i for i in self.history if i not in drop]
        self._rebuild_selection()

    def _rebuild_selection(self) -> None:
        self._handed = {i: self._handed[i] for i in self.history if i in self._handed}
        missing = [i for i in self.history if i not in self._handed]
        if missing:
            self._handed.update((t.id, (t, v)) for t, v in self.source.items(missing))
        self._chosen = Selection(self.filters, seeds=self.seeds, window=CAP_WINDOW)
        for i in self.history:
            if i in self._handed:
                track, vector = self._handed[i]
                self._chosen.add(track, vector, 0.0)

    # -- saving --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the session; :meth:`from_dict` carries on from it."""
        return {"format": FORMAT, "seeds": [t.id for t, _ in self.seeds], "root": self.root,
                "filters": self.filters.to_dict(), "history": list(self.history),
                "feedback": [[f.track_id, f.listened_s, f.skipped] for f in self.feedback_log],
                "barred": sorted(self.barred)}

    @classmethod
    def from_dict(cls, library: Library, d: dict[str, Any]) -> RadioSession:
        """The session ``d`` describes, on ``library`` (songs gone from it since are left out).

        Raises ValueError for a description this version cannot read, LookupError when no seed is left.
        """
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ValueError("not a radio session this version of musicsim can read")
        seeds = [int(i) for i in d["seeds"]]
        present = {t.id for t in library.tracks(seeds)}
        kept = [i for i in seeds if i in present]
        if not kept:
            raise LookupError("none of the radio's seed songs is in the library any more")
        session = library.radio(kept, root=d.get("root"), filters=Filters.from_dict(d.get("filters") or {}))
        session._restore(d)
        return session

    def _restore(self, d: dict[str, Any]) -> None:
        self.barred = {int(i) for i in d.get("barred", [])}
        self.history = [int(i) for i in d.get("history", [])]
        events = [Feedback(int(i), float(s), bool(k)) for i, s, k in d.get("feedback", [])]
        items = {t.id: (t, v) for t, v in self.source.items(sorted({*self.history, *(e.track_id for e in events)}))}
        self._handed = {i: items[i] for i in self.history if i in items}
        for e in events:
            if e.track_id in items:
                self.feedback_log.append(e)
                self._apply(items[e.track_id], e.listened_s, e.skipped, replay=True)
        self._rebuild_selection()
