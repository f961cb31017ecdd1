"""Short human-readable strings for durations, ETAs, scores and tracks, shared by the CLI and the app (no Qt)."""

from __future__ import annotations

import unicodedata

# Unicode categories a terminal must not get raw: controls, format characters (bidi overrides),
# line/paragraph separators, surrogates, private-use and unassigned code points.
_UNSAFE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def format_duration(seconds: float | None) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a track length; empty when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return ""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_clock(seconds: float | None) -> str:
    """Elapsed/remaining time for a progress line: ``m:ss`` or ``h:mm:ss``; ``?`` when unknown."""
    return format_duration(seconds) or "?"


def format_eta(seconds: float | None) -> str:
    """A coarse time-remaining phrase: "about 3 min left", "under a minute left"."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "estimating time left"
    if seconds < 60:
        return "under a minute left"
    minutes = int(round(seconds / 60))
    if minutes < 90:
        return f"about {minutes} min left"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes:02d} min left"


def format_percent(p: float | None) -> str:
    return "" if p is None else f"{100.0 * p:.0f}%"


def track_label(title: str, artist: str, separator: str = " - ") -> str:
    """``Artist - Title``, or the title alone when the artist is unknown."""
    return f"{artist}{separator}{title}" if artist else title


def terminal_safe(text: str) -> str:
    """``text`` safe to print on a terminal: control characters (escape sequences, newlines, BEL) and
    other unprintable characters shown escaped (``\\x1b``, ``\\n``), so a file name cannot retitle,
    clear or fake lines on the user's terminal. JSON output never goes through this."""
    if text.isprintable():
        return text
    return "".join(c.encode("unicode_escape").decode("ascii") if unicodedata.category(c) in _UNSAFE else c
                   for c in text)


LAST = "\uffff"  # sorts after any name: songs without an artist or album come last


def artist_sort_key(artist: str, album: str, track_number: int | None) -> str:
    """The library table's default order as one string: artist ("The Lanterns" under L), album, track
    number; no artist (or album): last. Stored in the catalogue (``sort_artist``, indexed) so the first
    screenful of a big library is read in this order without sorting it all; compared by code point, as
    Python and SQLite (BINARY, on UTF-8) both do."""
    a = artist.casefold()
    a = (a[4:] if a.startswith("the ") else a) or LAST
    return f"{a}\x01{album.casefold() or LAST}\x01{track_number or 0:05d}"
