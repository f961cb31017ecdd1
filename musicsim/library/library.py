"""The :class:`Library` facade: the one engine API the CLI and the desktop app both call.

Thread-safe: each thread gets its own SQLite connection; the app calls these methods from worker
threads (never the GUI thread) and may call read methods while ``analyse_pending`` runs elsewhere.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from musicsim.library.records import (
    AnalysisProgress,
    AnalysisReport,
    LibraryStatus,
    Problem,
    SimilarTrack,
    SyncReport,
    Track,
)

PathLike = str | os.PathLike[str]


class Library:
    """A music library stored in ``data_dir`` (catalogue.sqlite3 + the hnswlib index)."""

    def __init__(self, data_dir: PathLike | None = None, model_path: PathLike | None = None,
                 device: str | None = None) -> None:
        raise NotImplementedError

    # -- catalogue -------------------------------------------------------------------------
    def sync_folder(self, folder: PathLike,
                    on_track: Callable[[Track], None] | None = None) -> SyncReport:
        """Catalogue ``folder`` from tags only (fast, no decoding): add new, refresh changed, drop vanished."""
        raise NotImplementedError

    def analyse_pending(self, progress: Callable[[AnalysisProgress], None] | None = None,
                        cancel: threading.Event | None = None, workers: int | None = None) -> AnalysisReport:
        """Analyse every pending track (new, changed, or analysed by another model version)."""
        raise NotImplementedError

    def scan(self, folder: PathLike, progress: Callable[[AnalysisProgress], None] | None = None,
             cancel: threading.Event | None = None, workers: int | None = None) -> tuple[SyncReport, AnalysisReport]:
        """``sync_folder`` then ``analyse_pending``."""
        raise NotImplementedError

    # -- queries ---------------------------------------------------------------------------
    def status(self) -> LibraryStatus:
        raise NotImplementedError

    def tracks(self) -> list[Track]:
        raise NotImplementedError

    def track(self, track_id: int) -> Track | None:
        raise NotImplementedError

    def find(self, query: str) -> Track:
        """A track by file path, or by text matched against title/artist; raises LookupError."""
        raise NotImplementedError

    def similar(self, seed: Track | int | str, n: int = 10, max_per_artist: int | None = 2) -> list[SimilarTrack]:
        """Top-``n`` cosine neighbours, never the seed nor another copy of the same recording."""
        raise NotImplementedError

    def problems(self) -> list[Problem]:
        raise NotImplementedError

    def export_m3u8(self, tracks: Sequence[Track], out: PathLike) -> Path:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError
