""""Sounds like" search by words: tracks ranked by the model's tag probabilities for the words given.

The vocabulary is the model's own tag names (musicnn's 50 MSD tags: "mellow", "female vocalists",
"electronic", "dance", ...) plus simple synonyms ("female vocal", "hip hop", "r&b", "sixties").
Words are matched greedily, longest phrase first, case and punctuation ignored; a word that is in no
phrase is an error listing the vocabulary. A track's match is the geometric mean, over the phrases
asked for, of its probability for each phrase (a phrase standing for several tags takes the highest):
a track must fit every word to rank high, and the score stays a probability-like number in 0..1.
This is the offline stand-in for text-to-audio search (CLAP), whose weights cannot be had here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_PHRASE_WORDS = 3

# synonym -> tag names it stands for (kept only where the model has that tag)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "female vocal": ("female vocalists", "female vocalist"),
    "female vocals": ("female vocalists", "female vocalist"),
    "female voice": ("female vocalists", "female vocalist"),
    "female singer": ("female vocalists", "female vocalist"),
    "female": ("female vocalists", "female vocalist"),
    "male vocal": ("male vocalists",),
    "male vocals": ("male vocalists",),
    "male voice": ("male vocalists",),
    "male singer": ("male vocalists",),
    "male": ("male vocalists",),
    "hip hop": ("Hip-Hop",),
    "rap": ("Hip-Hop",),
    "r&b": ("rnb",),
    "r and b": ("rnb",),
    "rhythm and blues": ("rnb",),
    "electro": ("electro",),
    "electronica": ("electronica",),
    "edm": ("electronic", "dance"),
    "prog": ("Progressive rock",),
    "progressive": ("Progressive rock",),
    "prog rock": ("Progressive rock",),
    "alt rock": ("alternative rock",),
    "heavy": ("heavy metal", "hard rock"),
    "calm": ("Mellow", "chill"),
    "relaxing": ("chillout", "chill", "Mellow"),
    "relaxed": ("chillout", "chill", "Mellow"),
    "quiet": ("Mellow",),
    "soft": ("Mellow",),
    "gentle": ("Mellow",),
    "upbeat": ("happy", "party"),
    "cheerful": ("happy",),
    "melancholic": ("sad",),
    "melancholy": ("sad",),
    "dancing": ("dance",),
    "techno": ("electronic", "electro"),
    "guitars": ("guitar",),
    "acoustic guitar": ("acoustic", "guitar"),
    "vocal": ("female vocalists", "male vocalists"),
    "vocals": ("female vocalists", "male vocalists"),
    "no vocals": ("instrumental",),
    "sixties": ("60s",),
    "seventies": ("70s",),
    "eighties": ("80s",),
    "nineties": ("90s",),
    "noughties": ("00s",),
    "2000s": ("00s",),
    "1960s": ("60s",),
    "1970s": ("70s",),
    "1980s": ("80s",),
    "1990s": ("90s",),
}


def phrase_key(text: str) -> str:
    """Words compared case- and punctuation-insensitively: ``Hip-Hop`` ~ ``hip hop``."""
    return " ".join(re.sub(r"[^0-9a-z&]+", " ", text.casefold().replace("-", " ")).split())


class UnknownWords(LookupError):
    """Words that are in no tag name or synonym; the message lists the vocabulary."""

    def __init__(self, words: Sequence[str], vocabulary: Sequence[str]) -> None:
        self.words = list(words)
        self.vocabulary = list(vocabulary)
        quoted = ", ".join(f'"{w}"' for w in words)
        super().__init__(f"Unknown word{'s' if len(words) > 1 else ''} {quoted}. Search by these words "
                         f"(the model's tags): {', '.join(vocabulary)}.")

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Query:
    """The phrases recognised in the words, each with the tag columns it stands for."""

    phrases: tuple[str, ...]
    columns: tuple[tuple[int, ...], ...]


def vocabulary(tags: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """Every phrase that can be searched for (tag names and synonyms, as keys) -> tag columns."""
    index = {t: i for i, t in enumerate(tags)}
    vocab: dict[str, tuple[int, ...]] = {phrase_key(t): (i,) for t, i in index.items()}
    for phrase, names in SYNONYMS.items():
        cols = tuple(index[n] for n in names if n in index)
        if cols and phrase_key(phrase) not in vocab:
            vocab[phrase_key(phrase)] = cols
    return vocab


def parse(words: str | Sequence[str], tags: Sequence[str]) -> Query:
    """The phrases in ``words``; raises :class:`UnknownWords` (or ValueError when empty)."""
    text = words if isinstance(words, str) else " ".join(words)
    tokens = phrase_key(text).split()
    if not tokens:
        raise ValueError("Give some words to search by, e.g. musicsim search mellow acoustic.")
    vocab = vocabulary(tags)
    phrases: list[str] = []
    columns: list[tuple[int, ...]] = []
    unknown: list[str] = []
    i = 0
    while i < len(tokens):
        for n in range(min(MAX_PHRASE_WORDS, len(tokens) - i), 0, -1):
            phrase = " ".join(tokens[i : i + n])
            if phrase in vocab:
                if phrase not in phrases:
                    phrases.append(phrase)
                    columns.append(vocab[phrase])
                i += n
                break
        else:
            unknown.append(tokens[i])
            i += 1
    if unknown:
        raise UnknownWords(unknown, sorted(tags, key=str.casefold))
    return Query(tuple(phrases), tuple(columns))


def match_scores(tag_probs: np.ndarray, query: Query) -> np.ndarray:
    """Each row's match with ``query``: geometric mean over its phrases of the phrase's probability."""
    p = np.asarray(tag_probs, np.float64)
    if p.ndim != 2 or len(p) == 0:
        return np.zeros(len(p))
    logs = [np.log(np.maximum(p[:, list(cols)].max(axis=1), 1e-9)) for cols in query.columns]
    return np.exp(np.mean(logs, axis=0))
