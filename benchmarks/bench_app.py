"""How the desktop app copes with a big library: catalogue reads, table model, sorting, filtering,
scrolling and the genre map, on a real catalogue of N tracks with random analyses (no audio needed).

    nice .venv/bin/python benchmarks/bench_app.py --tracks 100000

Prints milliseconds per operation. GUI numbers are for the offscreen platform (no GPU compositing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

from musicsim.genres import GENRES
from musicsim.library.catalogue import AnalysisRow, ModelInfo
from musicsim.library.library import Library
from musicsim.library.scanner import FoundFile
from musicsim.library.tags import TagInfo

WORDS = ("blue night river stone gold fire glass rain light heart road city dream echo wild slow "
         "summer ghost silver home").split()


def build_catalogue(lib: Library, n: int, dim: int = 200, seed: int = 0) -> None:
    """``n`` tracks (about 250 artists, 10 songs an album) analysed with random embeddings."""
    rng = np.random.default_rng(seed)
    cat = lib.catalogue
    ids: list[int] = []
    with cat.transaction() as conn:
        for i in range(n):
            artist = f"{WORDS[i % 20].title()} {WORDS[(i // 20) % 20].title()} {i // 400}"
            album = f"{WORDS[(i // 10) % 20].title()} {i // 10}"
            title = " ".join(WORDS[j % 20] for j in rng.integers(0, 20, 3)).title()
            found = FoundFile(f"/music/{artist}/{album}/{i % 10 + 1:02d} {title}.flac", 30_000_000, i)
            ids.append(cat.add(conn, found, TagInfo(title, artist, album, i % 10 + 1, float(rng.uniform(120, 420)))))
    cat.register_model(ModelInfo("bench", list(GENRES), [f"tag{i}" for i in range(50)], dim))
    centres = rng.normal(size=(len(GENRES), dim))
    for start in range(0, n, 5000):
        rows = []
        for tid in ids[start:start + 5000]:
            g = int(rng.integers(len(GENRES)))
            emb = centres[g] + rng.normal(scale=1.5, size=dim)
            probs = rng.dirichlet(np.ones(len(GENRES)) * 0.3)
            rows.append(AnalysisRow(tid, (emb / np.linalg.norm(emb)).astype(np.float32), probs.astype(np.float32),
                                    rng.uniform(size=50).astype(np.float32), 3))
        cat.write_results("bench", rows)


def timed(fn, repeat: int = 1) -> float:
    """Median milliseconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times)


def _find(lib: Library, query: str) -> None:
    try:
        lib.find(query)
    except LookupError:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=100_000)
    args = parser.parse_args()
    n = args.tracks

    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QAbstractItemView, QApplication, QHeaderView, QTableView

    from musicsim.app.genre_map import GenreMapWidget
    from musicsim.app.track_model import TrackFilterProxy, TrackTableModel

    app = QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        lib = Library(data_dir=Path(tmp), model_path=Path(tmp) / "none.pt")
        t0 = time.perf_counter()
        build_catalogue(lib, n)
        print(f"catalogue of {n:,} analysed tracks built in {time.perf_counter() - t0:.1f} s")

        tracks = lib.tracks()
        print(f"Library.tracks() (snapshot on open, after a sync):  {timed(lib.tracks, 3):8.1f} ms")
        batch = [t.id for t in tracks[:: max(1, n // 64)]][:64]
        print(f"Library.tracks(64 ids) (rows finished by analysis): {timed(lambda: lib.tracks(batch), 20):8.1f} ms")
        for query in ("river gold", tracks[n // 2].title, "no such words"):
            ms = timed(lambda query=query: _find(lib, query), 3)
            print(f"Library.find({query!r:<22}):             {ms:8.1f} ms")
        ids, matrix = lib.embeddings()
        print(f"Library.embeddings():                               {timed(lib.embeddings, 3):8.1f} ms")

        model = TrackTableModel()
        proxy = TrackFilterProxy()
        proxy.setSourceModel(model)
        view = QTableView()
        view.setModel(proxy)
        view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        view.verticalHeader().setDefaultSectionSize(24)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.resize(1280, 800)
        view.show()
        app.processEvents()
        print(f"model.set_tracks (first load, unsorted):            {timed(lambda: model.set_tracks(tracks)):8.1f} ms")
        for col, name in ((TrackTableModel.ARTIST, "artist"), (TrackTableModel.TITLE, "title"),
                          (TrackTableModel.GENRE, "genre"), (TrackTableModel.CONFIDENCE, "confidence")):
            ms = timed(lambda col=col: view.sortByColumn(col, Qt.SortOrder.AscendingOrder))
            print(f"sort by {name:<10}                                  {ms:8.1f} ms")
        view.sortByColumn(TrackTableModel.ARTIST, Qt.SortOrder.AscendingOrder)

        ms = timed(lambda: proxy.set_search("river gold"))
        print(f"search 'river gold' -> {proxy.rowCount():6,} rows                   {ms:8.1f} ms")
        ms = timed(lambda: proxy.set_search(""))
        print(f"clear search                                        {ms:8.1f} ms")
        ms = timed(lambda: proxy.set_genre("jazz"))
        print(f"genre filter 'jazz' -> {proxy.rowCount():6,} rows                   {ms:8.1f} ms")
        proxy.set_genre(None)

        # an analysis batch: 64 tracks change (sorted by genre, so rows move)
        view.sortByColumn(TrackTableModel.GENRE, Qt.SortOrder.AscendingOrder)
        rng = np.random.default_rng(1)
        batches = []
        for _ in range(5):
            picked = [tracks[i] for i in rng.choice(n, 64, replace=False)]
            batches.append([type(t)(**{**t.__dict__, "genre": GENRES[(GENRES.index(t.genre) + 1) % 10]})
                            for t in picked])
        it = iter(batches)
        print(f"merge a 64-track analysis batch (sorted by genre):  {timed(lambda: model.merge(next(it)), 5):8.1f} ms")

        # scrolling: repaint the viewport at positions across the table
        bar = view.verticalScrollBar()
        positions = np.linspace(0, bar.maximum(), 60).astype(int)
        frame_ms = []
        for pos in positions:
            t0 = time.perf_counter()
            bar.setValue(int(pos))
            view.viewport().repaint()
            frame_ms.append(1000 * (time.perf_counter() - t0))
        print(f"scroll + repaint one screen: median {statistics.median(frame_ms):.1f} ms, "
              f"worst {max(frame_ms):.1f} ms ({len(positions)} jumps)")

        # the same while another thread runs pure Python (what re-reading the catalogue does): GIL contention
        stop = threading.Event()

        def busy() -> None:
            while not stop.is_set():
                [type(tracks[0])(**tracks[0].__dict__) for _ in range(1000)]

        helper = threading.Thread(target=busy)
        helper.start()
        busy_ms = []
        for pos in positions:
            t0 = time.perf_counter()
            bar.setValue(int(pos))
            view.viewport().repaint()
            busy_ms.append(1000 * (time.perf_counter() - t0))
        stop.set()
        helper.join()
        print(f"  ... while a Python thread is busy: median {statistics.median(busy_ms):.1f} ms, "
              f"worst {max(busy_ms):.1f} ms")

        gmap = GenreMapWidget()
        gmap.resize(1000, 700)
        genres = [t.genre for t in tracks]
        labels = [t.title for t in tracks]
        ms = timed(lambda: gmap.set_embeddings(ids, matrix, genres, labels))
        print(f"genre map: PCA + layout of {len(ids):,} points:          {ms:8.1f} ms")
        print(f"genre map: paint:                                   {timed(gmap.grab, 3):8.1f} ms")
        pos = gmap.screen_position(int(ids[0]))
        print(f"genre map: hover hit test:                          {timed(lambda: gmap.track_at(pos), 20):8.1f} ms")
        lib.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
