"""What the app says about genres, as plain text: the genre cell and its tooltip, the "Your tag" cell, the
agreement line, the "Sounds like" messages. Pure functions over engine records (no Qt), shared by the
library table and the window.
"""

from __future__ import annotations

from collections.abc import Sequence

from musicsim.formatting import format_percent
from musicsim.genres.learned import MIN_EXAMPLES
from musicsim.library.own_genres import GenreAgreement
from musicsim.library.records import Track

VOCABULARY_SHOWN = 8  # vocabulary words an unknown-word message names
EXAMPLE_WORDS = ("mellow", "acoustic", "electronic", "piano", "guitar", "female vocalists", "dance", "chill",
                 "instrumental", "rock", "sad", "happy")


def label_text(t: Track) -> str:
    """The genre column: the label (``electronic``; ``electronic / ambient?`` when uncertain)."""
    if t.genre_label is not None:
        return t.genre_label.text()
    return t.genre or ""


def label_name(t: Track) -> str | None:
    """The label's one genre (the best candidate when uncertain): what the genre filter and map use."""
    if t.genre_label is not None:
        return t.genre_label.name
    return t.genre


def label_confidence(t: Track) -> float | None:
    return t.genre_label.confidence if t.genre_label is not None else t.confidence


def your_tag_text(file_genre: str | None, suggestion: tuple[str, float] | None) -> str:
    """The "Your tag" column: the file's own genre tag, else musicsim's suggestion learned from the others
    (``Soundtrack? 84%``; the table shows it in grey italics, its tooltip says "suggested")."""
    if file_genre:
        return file_genre
    if suggestion is not None:
        genre, p = suggestion
        return f"{genre}? {format_percent(p)}"
    return ""


def your_tag_tooltip(file_genre: str | None, suggestion: tuple[str, float] | None) -> str:
    if file_genre:
        return f"The file's own genre tag: {file_genre}"
    if suggestion is not None:
        return (f"This file has no genre tag. Suggested from your other files' genre tags: {suggestion[0]}, "
                f"{format_percent(suggestion[1])} likely (musicsim tag-genres can write it into the file)")
    return "This file has no genre tag"


def genre_tooltip(t: Track, suggestion: tuple[str, float] | None) -> str:
    """Everything behind the genre cell: the label and its candidates, the ten-genre (GTZAN) answer, the top
    MSD tags, the file's own tag and the suggestion learned from the library's tags."""
    lines = []
    lab = t.genre_label
    if lab is not None:
        lines.append(f"Genre: {lab.name} {format_percent(lab.confidence)}"
                     + (" — not sure" if lab.uncertain else ""))
        if lab.uncertain:
            lines.append("Best candidates: " + ", ".join(f"{n} {format_percent(p)}" for n, p in lab.candidates))
    if t.genre:
        lines.append(f"GTZAN ten-genre answer: {t.genre} {format_percent(t.confidence)}")
    if t.tags:
        lines.append("Sounds like (tags): " + ", ".join(f"{n} {format_percent(p)}" for n, p in t.tags[:5]))
    lines.append(f"Your tag: {t.file_genre}" if t.file_genre else "Your tag: none")
    if suggestion is not None and not t.file_genre:
        lines.append(f"Learned from your tags: {suggestion[0]} {format_percent(suggestion[1])}")
    return "\n".join(lines)


def agreement_text(a: GenreAgreement | None) -> str:
    """One line: how often musicsim agrees with the user's genre tags, or why it cannot say yet."""
    if a is None:
        return ""
    if len(a.learned_genres) < 2 or not a.files:
        return (f"Your genre tags: {a.tagged} analysed {'file has' if a.tagged == 1 else 'files have'} one — "
                f"too few to learn from. musicsim learns a genre once {MIN_EXAMPLES} files carry it, and "
                "needs two such genres to suggest genres for the rest.")
    learned = ", ".join(f"{g} ({n})" for g, n in a.learned_genres.items())
    return (f"musicsim agrees with your genre tags for {a.agreed} of {a.files} files ({format_percent(a.share)}, "
            f"cross-validated) · learned: {learned}")


def agreement_tooltip(a: GenreAgreement | None) -> str:
    if a is None or not a.per_genre:
        return ""
    rows = [f"{g}: {agreed} of {n}" for g, (agreed, n) in a.per_genre.items()]
    balanced = f" (balanced over genres: {format_percent(a.balanced)})" if a.balanced is not None else ""
    return ("Each tagged file is predicted by a classifier that never saw it" + balanced + ":\n" + "\n".join(rows))


def unknown_words_text(words: Sequence[str], vocabulary: Sequence[str]) -> str:
    """The inline message for words "Sounds like" does not know, naming a few words it does."""
    quoted = ", ".join(f"“{w}”" for w in words)
    few = ", ".join(example_words(vocabulary))
    more = f" (and {len(vocabulary) - VOCABULARY_SHOWN} more)" if len(vocabulary) > VOCABULARY_SHOWN else ""
    return f"Sounds like does not know {quoted}. Try words like: {few}{more}."


def example_words(vocabulary: Sequence[str], n: int = VOCABULARY_SHOWN) -> list[str]:
    """A few words to suggest: everyday ones first (where the model has them), then the rest in order."""
    by_key = {v.casefold(): v for v in vocabulary}
    first = [by_key[w] for w in EXAMPLE_WORDS if w in by_key]
    rest = [v for v in vocabulary if v not in first]
    return (first + rest)[:n]


def matches_text(words: str, shown: int, analysed: int) -> str:
    if not shown:
        return f"Sounds like “{words}”: no analysed songs to rank yet."
    if shown < analysed:
        return f"Sounds like “{words}”: the {shown:,} best matches of {analysed:,} analysed songs, best first."
    return f"Sounds like “{words}”: {shown:,} songs, best match first."
