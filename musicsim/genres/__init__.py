"""The ten GTZAN genre names, in the order every model's genre head uses (``resources/genres.txt``)."""

from __future__ import annotations

from musicsim.paths import resources_dir


def _load_genres() -> tuple[str, ...]:
    lines = (resources_dir() / "genres.txt").read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip())


GENRES: tuple[str, ...] = _load_genres()
