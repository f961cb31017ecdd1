"""The genre people see: the ten GTZAN genres corrected and calibrated, or a genre GTZAN lacks where the
model's tags say so, and "uncertain" (with the two best candidates) when the evidence is thin.

Pure functions over a track's pooled model outputs — ``genre_probs`` (the genre head, 10 GTZAN genres) and
``tag_probs`` (musicnn's 50 MSD tags) — with parameters from ``resources/genre-label.json``, fitted on
GTZAN alone by ``musicsim train-label`` (``musicsim/training/label_fit.py``; numbers and protocol in
docs/evaluation/). Whatever file format the model comes in, only these two vectors matter.

1. **genre** (:func:`corrected_genres`): the head's probabilities with the 280-clip subset's prior
   imbalance corrected (a per-genre log-bias making the average answer over a genre-balanced population
   uniform: blues and jazz had ten times the clips of the others) and a temperature, both fitted on
   cross-validated (out-of-fold) head probabilities, so ``confidence`` is calibrated on GTZAN.
2. **label** over the ten genres: a class-balanced logistic regression on (corrected genre
   probabilities, tag probabilities), fitted on out-of-fold outputs, with its own temperature. The
   tags come from a network trained on far more music than GTZAN, so they veto what the head alone
   gets wrong off GTZAN (ambient or orchestral music called "blues": its "blues" tag is near zero).
3. **genres GTZAN lacks** (``extras``): electronic, folk, punk, soul/r&b. A track whose
   evidence (the highest of the tags standing for that genre) reaches the genre's threshold is
   labelled with it; the threshold is the evidence that only 1 % of GTZAN clips (genre-balanced)
   reach, so on GTZAN it seldom fires (16 of 280 clips). Ambient is not among them: its MSD tag is as
   high on GTZAN's classical clips as on ambient music. Its confidence is that tag probability (the MSD model's
   own; no labelled audio of these genres was available to calibrate it); the remaining probability is
   shared among the ten genres as in 2.
4. **uncertain**: a label whose probability is under ``uncertain_below`` (0.5: calibrated, so fewer than
   half of those labels are right) says so and shows the two best candidates.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from musicsim.paths import resources_dir

log = logging.getLogger(__name__)

RULE_FILE = "genre-label.json"
UNCERTAIN_BELOW = 0.5


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True)
class Extra:
    """A genre GTZAN lacks, evidenced by the highest of ``tags``; fires at ``threshold``."""

    name: str
    tags: tuple[str, ...]
    threshold: float


@dataclass(frozen=True)
class LabelRule:
    """The fitted parameters (``resources/genre-label.json``)."""

    genres: tuple[str, ...]
    tags: tuple[str, ...]
    prior_bias: np.ndarray  # (10,) added to log genre probabilities
    temperature: float  # then divided by this
    stack_mean: np.ndarray  # (10 + n_tags,) standardisation of [corrected genre probs, tag probs]
    stack_scale: np.ndarray
    stack_weight: np.ndarray  # (10, 10 + n_tags), temperature folded in
    stack_bias: np.ndarray  # (10,)
    extras: tuple[Extra, ...]
    uncertain_below: float = UNCERTAIN_BELOW
    provenance: dict[str, Any] | None = None

    def fits(self, genres: Sequence[str], tags: Sequence[str]) -> bool:
        """Whether a model's outputs are the ones this rule was fitted on (same names, same order)."""
        return [g.lower() for g in genres] == [g.lower() for g in self.genres] and list(tags) == list(self.tags)

    def to_json(self) -> dict[str, Any]:
        return {"genres": list(self.genres), "tags": list(self.tags),
                "prior_bias": self.prior_bias.round(6).tolist(), "temperature": round(float(self.temperature), 6),
                "stack": {"mean": self.stack_mean.round(6).tolist(), "scale": self.stack_scale.round(6).tolist(),
                          "weight": self.stack_weight.round(6).tolist(), "bias": self.stack_bias.round(6).tolist()},
                "extras": [{"name": e.name, "tags": list(e.tags), "threshold": round(e.threshold, 6)}
                           for e in self.extras],
                "uncertain_below": self.uncertain_below, "provenance": self.provenance or {}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabelRule:
        s = data["stack"]
        return cls(tuple(data["genres"]), tuple(data["tags"]), np.array(data["prior_bias"], np.float64),
                   float(data["temperature"]), np.array(s["mean"], np.float64), np.array(s["scale"], np.float64),
                   np.array(s["weight"], np.float64), np.array(s["bias"], np.float64),
                   tuple(Extra(e["name"], tuple(e["tags"]), float(e["threshold"])) for e in data["extras"]),
                   float(data.get("uncertain_below", UNCERTAIN_BELOW)), data.get("provenance"))


@lru_cache(maxsize=4)
def _load(path: str) -> LabelRule | None:
    try:
        return LabelRule.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
    except FileNotFoundError:
        log.warning("no genre label rule at %s: labels are the genre head's answer", path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("cannot read the genre label rule %s (%s): labels are the genre head's answer", path, exc)
    return None


def load_rule(path: str | os.PathLike[str] | None = None) -> LabelRule | None:
    """The shipped rule (or the one at ``path``); None when missing or unreadable (logged)."""
    return _load(str(Path(path) if path else resources_dir() / RULE_FILE))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def corrected_genres(genre_probs: np.ndarray, rule: LabelRule) -> np.ndarray:
    """Prior-corrected, calibrated ten-genre probabilities (rows of ``genre_probs``)."""
    logp = np.log(np.clip(np.asarray(genre_probs, np.float64), 1e-9, 1.0))
    return _softmax((logp + rule.prior_bias) / rule.temperature)


def stacked_genres(corrected: np.ndarray, tag_probs: np.ndarray, rule: LabelRule) -> np.ndarray:
    """The label model's ten-genre probabilities from corrected genre and tag probabilities."""
    x = (np.concatenate([corrected, np.asarray(tag_probs, np.float64)], axis=1) - rule.stack_mean) / rule.stack_scale
    return _softmax(x @ rule.stack_weight.T + rule.stack_bias)


def label_distribution(genre_probs: np.ndarray, tag_probs: np.ndarray | None, genres: Sequence[str],
                       tags: Sequence[str], rule: LabelRule | None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(names, probabilities (n, len(names)), label index per row)`` over the ten genres and the extras.

    Without a fitting rule (another model's outputs) or without tags: the head's own probabilities."""
    p = np.asarray(genre_probs, np.float64)
    names = [g.lower() for g in genres]
    if rule is None or not rule.fits(genres, tags):
        return names, p, p.argmax(axis=1)
    corrected = corrected_genres(p, rule)
    if tag_probs is None or len(tag_probs) != len(p):
        return names, corrected, corrected.argmax(axis=1)
    t = np.asarray(tag_probs, np.float64)
    q = stacked_genres(corrected, t, rule)
    index = {name: i for i, name in enumerate(tags)}
    extra_names = [e.name for e in rule.extras]
    evidence = np.stack([t[:, [index[n] for n in e.tags]].max(axis=1) for e in rule.extras], axis=1) \
        if rule.extras else np.zeros((len(p), 0))
    ratio = evidence / np.array([e.threshold for e in rule.extras]) if rule.extras else evidence
    fired = (ratio >= 1.0).any(axis=1) if rule.extras else np.zeros(len(p), bool)
    best_extra = ratio.argmax(axis=1) if rule.extras else np.zeros(len(p), int)
    out = np.concatenate([q, np.zeros((len(p), len(extra_names)))], axis=1)
    rows = np.flatnonzero(fired)
    if len(rows):
        e = evidence[rows, best_extra[rows]]
        out[rows, :10] = q[rows] * (1.0 - e)[:, None]
        out[rows, 10 + best_extra[rows]] = e
    chosen = np.where(fired, 10 + best_extra, q.argmax(axis=1))
    return names + extra_names, out, chosen


def label_tracks(genre_probs: np.ndarray, tag_probs: np.ndarray | None, genres: Sequence[str],
                 tags: Sequence[str], rule: LabelRule | None | bool = True) -> list[GenreLabel]:
    """Labels of many tracks at once (rows of ``genre_probs`` and ``tag_probs``); ``rule=True``: the shipped one."""
    if len(genre_probs) == 0:
        return []
    fitted = load_rule() if rule is True else (rule or None)
    names, probs, chosen = label_distribution(genre_probs, tag_probs, genres, tags, fitted)
    threshold = fitted.uncertain_below if fitted is not None else UNCERTAIN_BELOW
    order = np.argsort(-probs, axis=1)[:, :2]
    second = np.where(order[:, 0] != chosen, order[:, 0], order[:, -1])  # the best other than the label
    rows = np.arange(len(probs))
    all_names = np.array(names, dtype=object)
    return [GenreLabel(a, p, p < threshold, ((a, p), (b, q))) for a, p, b, q in
            zip(all_names[chosen].tolist(), probs[rows, chosen].tolist(), all_names[second].tolist(),
                probs[rows, second].tolist())]


def corrected_top(genre_probs: np.ndarray, genres: Sequence[str], tags: Sequence[str],
                  rule: LabelRule | None | bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(genre index, its probability)`` per row: the ten-genre answer (``genre`` in the JSON)."""
    fitted = load_rule() if rule is True else (rule or None)
    p = np.asarray(genre_probs, np.float64)
    if fitted is not None and fitted.fits(genres, tags):
        p = corrected_genres(p, fitted)
    best = p.argmax(axis=1)
    return best, p[np.arange(len(p)), best]
