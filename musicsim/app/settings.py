"""The app's remembered choices, stored with QSettings (music folder, window layout, player, filters)."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

from musicsim.playlists.filters import Filters

ORGANIZATION = "musicsim"
APPLICATION = "musicsim"


class AppSettings:
    """Typed access to a :class:`QSettings` store; pass a custom one (e.g. an INI file) to isolate tests."""

    def __init__(self, store: QSettings | None = None) -> None:
        if store is None:  # the platform's usual place, in QSettings' default format
            store = QSettings(QSettings.defaultFormat(), QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)
        self.store = store

    # -- music folder ----------------------------------------------------------------------
    @property
    def folder(self) -> str | None:
        value = self.store.value("library/folder", "", str)
        return str(value) if value else None

    @folder.setter
    def folder(self, path: str | None) -> None:
        self.store.setValue("library/folder", path or "")

    # -- playlist and player ---------------------------------------------------------------
    @property
    def playlist_length(self) -> int:
        return self._int("playlist/length", 10)

    @playlist_length.setter
    def playlist_length(self, n: int) -> None:
        self.store.setValue("playlist/length", int(n))

    @property
    def volume(self) -> int:
        """Player volume in percent."""
        return self._int("player/volume", 80)

    @volume.setter
    def volume(self, percent: int) -> None:
        self.store.setValue("player/volume", int(percent))

    @property
    def export_include_seed(self) -> bool:
        """Exported similar-songs playlists start with the song itself."""
        return self._bool("playlist/export_include_seed", False)

    @export_include_seed.setter
    def export_include_seed(self, on: bool) -> None:
        self.store.setValue("playlist/export_include_seed", bool(on))

    @property
    def journey_length(self) -> int:
        """Songs in a journey, both ends included."""
        return self._int("playlist/journey_length", 12)

    @journey_length.setter
    def journey_length(self, n: int) -> None:
        self.store.setValue("playlist/journey_length", int(n))

    # -- what the playlist builders may pick (Preferences) ------------------------------------
    @property
    def filters(self) -> Filters:
        """The user's filters for every builder call (similar, mix, journey, radio); a damaged value is ignored."""
        default = Filters()

        def cap(key: str, fallback: int | None) -> int | None:
            value = self._int(key, -1)
            return fallback if value < 0 else (value or None)  # 0 in the file: no cap

        def seconds(key: str) -> float | None:
            value = self.store.value(key, 0.0, float)
            return float(value) if isinstance(value, (int, float)) and value > 0 else None

        genres = self.store.value("filters/exclude_genres", [], list)
        genres = genres if isinstance(genres, list) else []
        return Filters(max_per_artist=cap("filters/max_per_artist", default.max_per_artist),
                       max_per_album=cap("filters/max_per_album", default.max_per_album),
                       exclude_genres=frozenset(str(g) for g in genres or () if str(g).strip()),
                       min_duration=seconds("filters/min_duration"), max_duration=seconds("filters/max_duration"))

    @filters.setter
    def filters(self, f: Filters) -> None:
        self.store.setValue("filters/max_per_artist", f.max_per_artist or 0)
        self.store.setValue("filters/max_per_album", f.max_per_album or 0)
        self.store.setValue("filters/exclude_genres", sorted(f.exclude_genres))
        self.store.setValue("filters/min_duration", float(f.min_duration or 0.0))
        self.store.setValue("filters/max_duration", float(f.max_duration or 0.0))

    def _int(self, key: str, default: int) -> int:
        value = self.store.value(key, default, int)
        return value if isinstance(value, int) else default

    def _bool(self, key: str, default: bool) -> bool:
        value = self.store.value(key, default, bool)
        return value if isinstance(value, bool) else default

    # -- window layout ---------------------------------------------------------------------
    def layout(self, key: str) -> QByteArray | None:
        """Saved geometry/state blob for ``key`` ("geometry", "window_state", "splitter", "header")."""
        value = self.store.value(f"window/{key}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_layout(self, key: str, blob: QByteArray) -> None:
        self.store.setValue(f"window/{key}", blob)

    def sync(self) -> None:
        self.store.sync()
