"""How the desktop app copes with a big library: launch to a filled window, its memory, catalogue reads,
table model, sorting, filtering, scrolling and the genre map, on a real catalogue of N tracks with random
analyses (no audio decoded).

    nice .venv/bin/python benchmarks/bench_app.py --tracks 100000 [--launch-only] [--repeat 3] [--baseline /work/main]

**Launch**: a fresh process starts the app as ``musicsim FOLDER`` does (QApplication, Library, MainWindow on
the folder, shown) and the clock stops when the library table holds all N rows: launch to a usable,
filled window, Python's start-up included; also the time to the first screenful of rows and the longest
event-loop stall (the window frozen) from its first tick until it is filled. The folder holds N hard
links to one small audio file, so the app's folder sync finds every track unchanged, and the catalogue
is analysed with the shipped model's version, so nothing is pending: the app then idles, and its
resident memory (RSS, and the peak) is read once the sync and the analysis check are done.
``--baseline TREE`` times another checkout's app too, launches interleaved. Then the in-process timings
of each operation (ms).
GUI numbers are for the offscreen platform (no GPU compositing).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: benchmarks/ and musicsim/ importable

import numpy as np

from musicsim.genres import GENRES
from musicsim.library.catalogue import AnalysisRow, ModelInfo
from musicsim.library.library import Library
from musicsim.library.scanner import FoundFile
from musicsim.library.tags import TagInfo

WORDS = ("blue night river stone gold fire glass rain light heart road city dream echo wild slow "
         "summer ghost silver home").split()


def build_catalogue(lib: Library, n: int, dim: int = 200, seed: int = 0, version: str = "bench",
                    root: Path = Path("/music"), size: int = 30_000_000, mtime_ns: int | None = None) -> None:
    """``n`` tracks (about 250 artists, 10 songs an album) under ``root``, analysed with random embeddings."""
    rng = np.random.default_rng(seed)
    cat = lib.catalogue
    ids: list[int] = []
    with cat.transaction() as conn:
        for i in range(n):
            artist = f"{WORDS[i % 20].title()} {WORDS[(i // 20) % 20].title()} {i // 400}"
            album = f"{WORDS[(i // 10) % 20].title()} {i // 10}"
            title = " ".join(WORDS[j % 20] for j in rng.integers(0, 20, 3)).title()
            found = FoundFile(f"{root}/{artist}/{album}/{i % 10 + 1:02d} {title}.flac", size,
                              i if mtime_ns is None else mtime_ns)
            ids.append(cat.add(conn, found, TagInfo(title, artist, album, i % 10 + 1, float(rng.uniform(120, 420)))))
    cat.register_model(ModelInfo(version, list(GENRES), [f"tag{i}" for i in range(50)], dim))
    centres = rng.normal(size=(len(GENRES), dim))
    for start in range(0, n, 5000):
        rows = []
        for tid in ids[start:start + 5000]:
            g = int(rng.integers(len(GENRES)))
            emb = centres[g] + rng.normal(scale=1.5, size=dim)
            probs = rng.dirichlet(np.ones(len(GENRES)) * 0.3)
            rows.append(AnalysisRow(tid, (emb / np.linalg.norm(emb)).astype(np.float32), probs.astype(np.float32),
                                    rng.uniform(size=50).astype(np.float32), 3))
        cat.write_results(version, rows)


LAUNCH_CHILD = r"""
import os, sys, time, json
t_import = time.perf_counter()
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QTableView
from musicsim.app.main_window import MainWindow
from musicsim.app.settings import AppSettings
from musicsim.library.library import Library
data, folder, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = QApplication(sys.argv[:1])
library = Library(data_dir=data)
window = MainWindow(library, AppSettings(), folder=folder)
window.show()
state = {"first": None, "filled": None, "tick": None, "stall": 0.0}
SCREENFUL = min(n, 40)

def rss():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return {k: int(fields[k].split()[0]) // 1024 for k in ("VmRSS", "VmHWM")}

def rows():
    return max((v.model().rowCount() for v in window.findChildren(QTableView)
                if v.isVisible() and v.model() is not None), default=0)

def check():
    now = time.perf_counter()
    if state["filled"] is None and state["tick"] is not None:  # from the event loop's first tick to filled
        state["stall"] = max(state["stall"], now - state["tick"])  # the event loop was held this long
        state.setdefault("gaps", []).append((round(now - t_import, 3), round(now - state["tick"], 3), rows()))
    state["tick"] = now
    if state["first"] is None and rows() >= SCREENFUL:
        state["first"] = True
        print("FIRST", json.dumps(rss()), flush=True)
    if state["filled"] is None:
        if rows() >= n:
            state["filled"] = True
            worst = sorted(state.get("gaps", []), key=lambda g: -g[1])[:3]  # (s since start, gap, rows then)
            print("FILLED", json.dumps({**rss(), "stall_s": state["stall"], "worst": worst}), flush=True)
    elif window.analysis.worker is None:  # sync and analysis check done: idle
        time.sleep(0.5)
        app.processEvents()
        print("IDLE", json.dumps({**rss(), "torch": "torch" in sys.modules}), flush=True)
        app.quit()

def guarded():
    try:
        check()
    except Exception:
        import traceback
        traceback.print_exc()
        app.exit(1)

timer = QTimer()
timer.timeout.connect(guarded)
timer.start(2)
app.exec()
library.close()
"""


def build_folder(lib: Library, n: int, root: Path, sample: Path) -> None:
    """``n`` hard links to ``sample`` under ``root`` (artist/album folders) and a catalogue that knows
    each as unchanged, analysed with the shipped model's version (nothing pending)."""
    from musicsim.model.modelfile import read_meta

    st = sample.stat()
    build_catalogue(lib, n, version=read_meta().version, root=root, size=st.st_size, mtime_ns=st.st_mtime_ns)
    copies = [sample]  # a file takes at most 65 000 links (ext4): copies with the same size and mtime
    for t in lib.tracks():
        if len(copies) * 50_000 <= t.id:
            copies.append(Path(shutil.copy2(sample, sample.with_name(f"sample{len(copies)}{sample.suffix}"))))
        Path(t.path).parent.mkdir(parents=True, exist_ok=True)
        os.link(copies[(t.id - 1) // 50_000], t.path)


def launch_once(tree: Path, data: Path, root: Path, n: int, env: dict[str, str]) -> dict[str, float]:
    """One fresh app process started in ``tree`` (its ``musicsim`` is the one imported): seconds to the
    first screenful and to all ``n`` rows, the longest event-loop stall in between, and its memory."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH_CHILD, str(data), str(root), str(n)],
                            stdout=subprocess.PIPE, text=True, env=env, cwd=tree)
    assert proc.stdout is not None
    out: dict[str, float] = {}
    for line in proc.stdout:
        kind, _, payload = line.partition(" ")
        if kind == "FIRST":
            out["first_s"] = time.perf_counter() - t0
        elif kind == "FILLED":
            out["filled_s"] = time.perf_counter() - t0
            filled = json.loads(payload)
            out["filled_rss_mb"], out["stall_s"] = filled["VmRSS"], filled["stall_s"]
            if os.environ.get("BENCH_APP_VERBOSE"):
                print(f"    {tree.name}: worst stalls (s since start, s held, rows then): {filled['worst']}")
        elif kind == "IDLE":
            idle = json.loads(payload)
            out["idle_rss_mb"], out["peak_rss_mb"], out["torch"] = idle["VmRSS"], idle["VmHWM"], idle["torch"]
    if proc.wait(timeout=300) or "idle_rss_mb" not in out:
        raise SystemExit(f"the app launched in {tree} did not fill its window and go idle "
                         f"(exit status {proc.returncode})")
    return out


def launch(n: int, repeat: int, baseline: Path | None = None, keep: Path | None = None) -> dict[str, dict]:
    """Launch timings (median of ``repeat`` fresh processes) and the idle app's memory, for this tree and,
    with ``baseline``, for another checkout too (launches interleaved, each tree its own copy of the
    catalogue, one untimed launch each first: a schema upgrade and a cold page cache are not timed).
    ``keep``: build the catalogue and folder there once and reuse them on later runs."""
    from benchmarks.common import small_song

    tmp = Path(tempfile.mkdtemp(prefix="musicsim-bench-app-"))
    work = keep or tmp
    try:
        data, root = work / "data", work / "music"
        if not (data / "catalogue.sqlite3").exists():
            with Library(data_dir=data) as lib:
                t0 = time.perf_counter()
                build_folder(lib, n, root, small_song(work / "sample.flac"))
                print(f"catalogue + folder of {n:,} analysed tracks built in {time.perf_counter() - t0:.1f} s")
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp / "cfg")}
        trees = {"this tree": Path(__file__).resolve().parents[1]}
        if baseline is not None:
            trees = {"baseline": baseline.resolve(), **trees}
        datas = {}
        for name in trees:
            datas[name] = tmp / f"data-{len(datas)}"
            shutil.copytree(data, datas[name])
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for name, tree in trees.items():
            launch_once(tree, datas[name], root, n, env)  # warm-up (schema upgrade, page cache)
        for _ in range(repeat):
            for name, tree in trees.items():
                runs[name].append(launch_once(tree, datas[name], root, n, env))
        results = {}
        print(f"launch ({n:,} tracks, {repeat} launches each, interleaved; load average {os.getloadavg()[0]:.1f}):")
        for name, tree in trees.items():
            r = runs[name]
            med = {k: statistics.median(x[k] for x in r) for k in ("first_s", "filled_s", "stall_s", "filled_rss_mb",
                                                                   "idle_rss_mb", "peak_rss_mb")}
            results[name] = {**med, "best_filled_s": min(x["filled_s"] for x in r), "tree": str(tree),
                             "torch": any(x["torch"] for x in r)}
            print(f"  {name} ({tree}): first screenful {med['first_s']:.2f} s, all rows {med['filled_s']:.2f} s "
                  f"(best {results[name]['best_filled_s']:.2f} s), longest event-loop stall until then "
                  f"{med['stall_s']:.2f} s; "
                  f"memory {med['filled_rss_mb']:.0f} MB when filled, idle {med['idle_rss_mb']:.0f} MB, "
                  f"peak {med['peak_rss_mb']:.0f} MB; torch imported: {results[name]['torch']}")
        return results
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
    parser.add_argument("--repeat", type=int, default=3, help="app launches timed")
    parser.add_argument("--launch-only", action="store_true")
    parser.add_argument("--baseline", type=Path, help="another checkout (e.g. /work/main): its launch is timed too")
    parser.add_argument("--keep", type=Path, help="build the catalogue and folder here once, reuse them")
    args = parser.parse_args()
    n = args.tracks
    result = launch(n, args.repeat, args.baseline, args.keep)
    results = Path(__file__).parent / "results" / "app.jsonl"
    results.parent.mkdir(exist_ok=True)
    with results.open("a") as fh:
        fh.write(json.dumps({"when": time.strftime("%Y-%m-%d %H:%M:%S"), "tracks": n, "load_avg": os.getloadavg(),
                             **result}) + "\n")
    if args.launch_only:
        return 0

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
            batches.append([dataclasses.replace(t, genre=GENRES[(GENRES.index(t.genre) + 1) % 10])
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
                [dataclasses.replace(tracks[0]) for _ in range(1000)]

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
