"""Scans on a real Ray cluster: a head node and a second node (``ray start --address``) on this machine.

Both nodes are started by this module (one CPU each, a small object store, their own temp folder) and
stopped after it, with every process they started. A cluster scan must equal a local scan (ids, problems,
embeddings within float rounding), rescan incrementally, resume after a cancel, report a file a node
cannot see, and survive the second node's raylet being killed mid-scan with nothing lost and nothing
delivered twice.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import write_song

ray = pytest.importorskip("ray", reason="Ray is the optional extra 'cluster' (pip install 'musicsim[cluster]')")

import musicsim.analysis.pipeline as pipeline  # noqa: E402
from musicsim.cli import main  # noqa: E402
from musicsim.cluster import cluster_runner  # noqa: E402
from musicsim.cluster.local import LocalCluster, descendants  # noqa: E402
from musicsim.library.library import Library  # noqa: E402

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    c = LocalCluster()
    try:
        c.start(nodes=2)
        yield c
    finally:
        if ray.is_initialized():
            ray.shutdown()
        c.stop()


@pytest.fixture(scope="module")
def songs(tmp_path_factory: pytest.TempPathFactory, music_dir: Path) -> Path:
    """The six-format songs, 40 more WAV songs, and a file that is not audio."""
    root = tmp_path_factory.mktemp("cluster-music")
    shutil.copytree(music_dir, root / "formats")
    for i in range(40):
        write_song(root / "more" / f"song{i:02d}.wav", 100 + i, 4.0 + (i % 5), title=f"Song {i}", artist=f"A{i % 4}")
    (root / "broken.mp3").write_bytes(b"this is not an mp3 file at all")
    return root


def _snapshot(lib: Library) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Embeddings and problems by path (ids are compared separately)."""
    ids, matrix = lib.embeddings()
    paths = {t.id: t.path for t in lib.tracks()}
    return ({paths[int(i)]: matrix[k] for k, i in enumerate(ids)},
            {p.path: p.reason for p in lib.problems()})


@pytest.fixture(scope="module")
def local_scan(songs: Path, model_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with Library(tmp_path_factory.mktemp("local"), model_path=model_file, device="cpu") as lib:
        _, report = lib.scan(songs, workers=2)
        embeddings, problems = _snapshot(lib)
        ids = {t.path: t.id for t in lib.tracks()}
        genres = {t.path: t.genre for t in lib.tracks()}
    return {"report": report, "embeddings": embeddings, "problems": problems, "ids": ids, "genres": genres}


class CountingRunner:
    """The cluster runner, counting every result it hands to the library."""

    def __init__(self, address: str, model: Path, on_delivery: Any = None) -> None:
        self.runner = cluster_runner(address, model)
        self.delivered: Counter[int] = Counter()
        self.on_delivery = on_delivery

    def __call__(self, jobs: Any, model: Any, **kw: Any) -> None:
        on_results = kw.pop("on_results")

        def counted(batch: list[Any]) -> None:
            self.delivered.update(r.track_id for r in batch)
            on_results(batch)
            if self.on_delivery is not None:
                self.on_delivery(self)

        self.runner(jobs, model, on_results=counted, **kw)


def _assert_equal_to_local(lib: Library, local: dict[str, Any]) -> None:
    embeddings, problems = _snapshot(lib)
    assert {t.path: t.id for t in lib.tracks()} == local["ids"]
    assert problems == local["problems"] and len(problems) == 1
    assert embeddings.keys() == local["embeddings"].keys() and len(embeddings) == 46
    for path, vector in embeddings.items():
        np.testing.assert_allclose(vector, local["embeddings"][path], atol=1e-5, err_msg=path)
    assert {t.path: t.genre for t in lib.tracks()} == local["genres"]


def test_cluster_scan_equals_local_scan_and_rescans_incrementally(cluster: LocalCluster, songs: Path, model_file: Path,
                                                                  local_scan: dict[str, Any], tmp_path: Path) -> None:
    runner = CountingRunner(cluster.address, model_file)
    with Library(tmp_path / "data", model_path=model_file, device="cpu") as lib:
        _, report = lib.scan(songs, runner=runner)
        assert (report.analysed, report.failed, report.cancelled) == (46, 1, False)
        assert runner.runner.plan is not None and runner.runner.plan.cpus == 2
        assert set(runner.delivered.values()) == {1} and len(runner.delivered) == 47
        _assert_equal_to_local(lib, local_scan)
        assert lib.status().pending == 0 and lib.index.count("test-1") == 46

        _, again = lib.scan(songs, runner=runner)  # nothing changed: nothing to do
        assert (again.analysed, again.failed) == (0, 0)
        changed = songs / "more" / "song03.wav"
        os.utime(changed, ns=(time.time_ns(), time.time_ns()))
        _, third = lib.scan(songs, runner=runner)  # one file touched: only it
        assert (third.analysed, third.failed) == (1, 0)
        _assert_equal_to_local(lib, local_scan)


def test_cancelled_cluster_scan_resumes(cluster: LocalCluster, songs: Path, model_file: Path,
                                        local_scan: dict[str, Any], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "RESULT_BATCH", 4)  # results reach the library in several batches
    cancel = threading.Event()
    runner = CountingRunner(cluster.address, model_file, on_delivery=lambda r: cancel.set())
    with Library(tmp_path / "data", model_path=model_file, device="cpu") as lib:
        _, first = lib.scan(songs, runner=runner, cancel=cancel)
        assert first.cancelled and 0 < first.analysed + first.failed < 47
        kept = lib.status()
        assert kept.analysed + kept.failed == first.analysed + first.failed  # every delivered batch is stored
        runner.on_delivery = None
        _, rest = lib.scan(songs, runner=runner)
        assert not rest.cancelled and first.analysed + rest.analysed == 46 and first.failed + rest.failed == 1
        assert set(runner.delivered.values()) == {1} and len(runner.delivered) == 47
        _assert_equal_to_local(lib, local_scan)


def test_file_a_node_cannot_see_is_reported(cluster: LocalCluster, model_file: Path, tmp_path: Path) -> None:
    music = tmp_path / "music"
    write_song(music / "here.wav", 1, 5.0)
    gone = write_song(music / "gone.wav", 2, 5.0)
    with Library(tmp_path / "data", model_path=model_file, device="cpu") as lib:
        lib.sync_folder(music)
        gone.unlink()  # walked here, then not there when a node opens it
        report = lib.analyse_pending(runner=cluster_runner(cluster.address, model_file))
        assert (report.analysed, report.failed) == (1, 1)
        [problem] = lib.problems()
        assert problem.path == str(gone) and "not found on cluster node" in problem.reason
        assert "every node needs it at the same path" in problem.reason


def test_cli_scan_on_the_cluster(cluster: LocalCluster, songs: Path, model_file: Path, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    common = ["--model", str(model_file), "--device", "cpu", "--data-dir", str(tmp_path / "data")]
    code = main(["scan", str(songs / "formats"), "--ray", cluster.address, *common], out, err)
    assert code == 0, err.getvalue()
    assert "Analysed 6 tracks, 0 failed" in err.getvalue()
    err = io.StringIO()
    common[-1] = str(tmp_path / "other")  # a fresh library: there is something to analyse
    assert main(["scan", str(songs / "formats"), "--ray", "127.0.0.1:1", *common], out, err) == 1
    assert "Cannot reach the Ray cluster at 127.0.0.1:1" in err.getvalue()
    assert "The folder is catalogued" in err.getvalue()


def _busy_on(node: Any) -> bool:
    """Whether a Ray worker of ``node`` is running a decode task or an inference call right now (Ray
    titles a worker process after the task it runs)."""
    for pid in descendants(node.pid):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith((b"ray::decode", b"ray::InferenceActor.infer")):
            return True
    return False


def test_killing_a_node_mid_scan_loses_nothing(cluster: LocalCluster, songs: Path, model_file: Path,
                                               local_scan: dict[str, Any], tmp_path: Path) -> None:
    """Runs last: it kills the second node's raylet while that node runs a task (then starts a new second node).

    Three copies of the songs, so the second node (whose workers start last) has work for most of the scan.
    """
    music = tmp_path / "music"
    for copy in ("a", "b", "c"):
        shutil.copytree(songs, music / copy)
    second = cluster.nodes[1]
    raylet = cluster.raylet(second)
    killed: dict[str, int] = {}
    done = threading.Event()
    runner = CountingRunner(cluster.address, model_file)

    def kill_when_busy() -> None:
        while not done.is_set():
            if _busy_on(second):
                killed["delivered"] = sum(runner.delivered.values())
                os.kill(raylet, signal.SIGKILL)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    try:
        with Library(tmp_path / "data", model_path=model_file, device="cpu") as lib:
            _, report = lib.scan(music, runner=runner)
            done.set()
            killer.join()
            assert killed, "the second node never ran a task during the scan"
            assert killed["delivered"] < 141  # killed mid-scan
            assert (report.analysed, report.failed, report.cancelled) == (138, 3, False)
            assert set(runner.delivered.values()) == {1} and len(runner.delivered) == 141  # nothing twice
            ids, matrix = lib.embeddings()
            paths = {t.id: t.path for t in lib.tracks()}
            assert len(ids) == 138 and lib.index.count("test-1") == 138
            for k, i in enumerate(ids):  # each copy equals the local scan of its original
                inside = Path(paths[int(i)]).relative_to(music)  # a/more/song01.wav
                original = str(songs.joinpath(*inside.parts[1:]))
                np.testing.assert_allclose(matrix[k], local_scan["embeddings"][original], atol=1e-5)
            assert sorted(p.reason for p in lib.problems()) == [local_scan["problems"][str(songs / "broken.mp3")]] * 3
    finally:
        done.set()
        killer.join()
        second.wait(timeout=60)  # `ray start --block` exits when its raylet dies
        cluster.add_node()
