"""People's genre names: one spelling per genre, whatever case, punctuation or synonym a tag uses.

``normalise("hip hop") == normalise("Hip-Hop") == normalise("HipHop") == "Hip-Hop"``. A name is reduced
to a *key* (case folded, accents dropped, ``&``/``'n'`` read as "and", everything but letters and
digits removed); keys of known synonyms map to one canonical display name (``SYNONYMS``), other keys
keep a tidy form of the name as written. ID3v1 numeric genres (``"17"``, ``"(17)"``, ``"(17)Rock"``)
become their names. Tags that name no style (``Other``, ``Unknown``, ``Genre``) count as no genre.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable


# canonical display name -> spellings (as keys or as written; all are reduced with ``key``)
_CANONICAL: dict[str, tuple[str, ...]] = {
    "Hip-Hop": ("hip hop", "hiphop", "hip-hop", "rap", "hip hop/rap", "hip-hop/rap", "rap/hip hop", "hip hop rap"),
    "R&B": ("r&b", "rnb", "r 'n' b", "r and b", "rhythm and blues", "rhythm & blues", "r&b/soul", "soul/r&b",
            "rnb/soul", "contemporary r&b"),
    "Soul": ("soul", "neo soul", "neo-soul"),
    "Electronic": ("electronic", "electronica", "electro", "electronic music", "edm", "electronic dance music"),
    "Drum and Bass": ("drum and bass", "drum & bass", "drum'n'bass", "drum n bass", "dnb", "d&b", "drum 'n' bass"),
    "Rock and Roll": ("rock and roll", "rock & roll", "rock'n'roll", "rock n roll", "rock 'n' roll", "rocknroll"),
    "Classical": ("classical", "classical music", "klassik", "classique", "romantic classical", "orchestral",
                  "baroque", "classical/orchestral"),
    "Soundtrack": ("soundtrack", "ost", "score", "film score", "original soundtrack", "game soundtrack",
                   "soundtracks", "film music", "movie soundtrack", "video game music", "vgm"),
    "Ambient": ("ambient", "ambience", "dark ambient"),
    "Jazz": ("jazz",),
    "Blues": ("blues",),
    "Country": ("country", "country music", "country & western", "country and western", "c&w"),
    "Disco": ("disco",),
    "Metal": ("metal", "heavy metal", "heavy-metal"),
    "Pop": ("pop", "pop music"),
    "Reggae": ("reggae",),
    "Rock": ("rock", "rock music"),
    "Folk": ("folk", "folk music"),
    "Punk": ("punk", "punk rock", "punk-rock"),
    "Funk": ("funk",),
    "House": ("house", "house music"),
    "Techno": ("techno",),
    "Trance": ("trance",),
    "Indie": ("indie",),
    "Alternative": ("alternative", "alt", "alternative music"),
    "Alternative Rock": ("alternative rock", "alt rock", "alt-rock"),
    "Singer-Songwriter": ("singer-songwriter", "singer songwriter", "singer/songwriter"),
    "World": ("world", "world music"),
    "New Age": ("new age", "newage"),
    "Easy Listening": ("easy listening",),
    "Chiptune": ("chiptune", "chip tune", "chipmusic", "chip music", "8-bit", "8bit"),
}
# Tags that name no style of music: treated as an untagged file.
NOT_A_GENRE = frozenset({"other", "unknown", "genre", "none", "misc", "miscellaneous", "default", "various",
                         "notgenre", "unclassifiable", "undefined", "null", "na"})
# Separators between several genres in one tag ("Rock; Pop", "Rock / Pop", "Rock, Pop"). A bare "/" inside
# one of the known names above ("Hip Hop/Rap") is read as that name first.
_SPLIT = re.compile(r"\s*(?:;|\s/\s|,|\|)\s*")
_ID3_NUMBER = re.compile(r"^\(?(\d{1,3})\)?(.*)$")


def key(name: str) -> str:
    """The form genre names are compared in: ``"Hip-Hop"``, ``"hip hop"`` and ``"HipHop"`` give ``"hiphop"``."""
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"\s*&\s*|\s+'?n'?\s+|'n'", " and ", text)
    return re.sub(r"[^0-9a-z]+", "", text)


_BY_KEY: dict[str, str] = {key(s): canonical for canonical, spellings in _CANONICAL.items()
                           for s in (canonical, *spellings)}


def _id3_number(text: str) -> str:
    """``"17"``, ``"(17)"`` or ``"(17)Rock"`` -> ``"Rock"`` (ID3v1 genre numbers); other text unchanged."""
    m = _ID3_NUMBER.match(text.strip())
    if not m:
        return text
    number, rest = int(m.group(1)), m.group(2).strip()
    if rest:
        return rest if text.strip().startswith("(") else text  # "(17)Rock": the refinement wins; "80s" stays
    from mutagen._constants import GENRES as ID3V1_GENRES  # here: reading commands never import mutagen

    return ID3V1_GENRES[number] if number < len(ID3V1_GENRES) else text


def _tidy(name: str) -> str:
    """An unknown genre's display form: spaces collapsed; all-lower or all-upper text title-cased."""
    text = " ".join(name.split())
    if text.islower() or text.isupper():
        text = " ".join(w[:1].upper() + w[1:].lower() for w in text.split(" "))
    return text


def normalise(name: str | None) -> str | None:
    """One genre name's canonical display form, or None for an empty or meaningless tag."""
    if name is None:
        return None
    text = _id3_number(name.replace("\x00", " ")).strip()
    k = key(text)
    if not k or k in NOT_A_GENRE:
        return None
    return _BY_KEY.get(k) or _tidy(text)


def split_genres(values: Iterable[str]) -> list[str]:
    """Every genre named by a file's genre tag values, normalised, in order, without repeats."""
    out: list[str] = []
    for value in values:
        whole = normalise(value)
        parts = [value] if whole is not None and key(value) in _BY_KEY else _SPLIT.split(value)
        for part in parts:
            name = normalise(part)
            if name is not None and name not in out:
                out.append(name)
    return out


def primary(values: Iterable[str]) -> str | None:
    """The first genre a tag names (the one the classifier learns), normalised; None when it names none."""
    names = split_genres(values)
    return names[0] if names else None
