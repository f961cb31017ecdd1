"""The app's remembered choices, stored with QSettings (music folder, window layout, player)."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

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

    def _int(self, key: str, default: int) -> int:
        value = self.store.value(key, default, int)
        return value if isinstance(value, int) else default

    # -- window layout ---------------------------------------------------------------------
    def layout(self, key: str) -> QByteArray | None:
        """Saved geometry/state blob for ``key`` ("geometry", "window_state", "splitter", "header")."""
        value = self.store.value(f"window/{key}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_layout(self, key: str, blob: QByteArray) -> None:
        self.store.setValue(f"window/{key}", blob)

    def sync(self) -> None:
        self.store.sync()
