"""The genre label people see: one of the ten GTZAN genres, or a genre GTZAN lacks where the tags say so.

A pure function over a track's pooled model outputs, ``(genre_probs, tag_probs)``, so it works
whatever file the model comes from. Placeholder rule (refined from measurements below).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GenreLabel:
    """A track's label: ``name`` with probability ``confidence``; ``uncertain`` below the rule's threshold,
    when ``candidates`` (the two best, best first) are what to show."""

    name: str
    confidence: float
    uncertain: bool
    candidates: tuple[tuple[str, float], ...]

    def text(self) -> str:
        """How a list shows it: ``electronic``, or ``electronic / ambient?`` when uncertain."""
        if not self.uncertain or len(self.candidates) < 2:
            return self.name
        return f"{self.candidates[0][0]} / {self.candidates[1][0]}?"


UNCERTAIN_BELOW = 0.5


def label_tracks(genre_probs: np.ndarray, tag_probs: np.ndarray | None, genres: Sequence[str],
                 tags: Sequence[str]) -> list[GenreLabel]:
    """Labels of many tracks at once (rows of ``genre_probs`` and ``tag_probs``)."""
    p = np.asarray(genre_probs, np.float64)
    names = [g.lower() for g in genres]
    order = np.argsort(-p, axis=1)[:, :2]
    out = []
    for row, top in zip(p, order):
        cands = tuple((names[j], float(row[j])) for j in top)
        out.append(GenreLabel(cands[0][0], cands[0][1], cands[0][1] < UNCERTAIN_BELOW, cands))
    return out
