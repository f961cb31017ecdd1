"""What a scan on a Ray cluster costs per track against a plain local scan, measured in the same run.

    nice .venv/bin/python -m benchmarks.bench_cluster [--songs 24] [--repeat 2] [--nodes 2]

Starts a throwaway cluster on this machine (``musicsim.cluster.local.LocalCluster``: ``--nodes`` nodes of
``--cpus-per-node`` CPUs, a head and ``ray start --address`` nodes), then alternately scans the same songs
(full-length corpus songs in five formats, benchmarks/common.py ``corpus_songs``; ``--gtzan``: GTZAN
clips looped into songs) into a fresh library, with the shipped model (real weights):

* **local**: ``Library.scan(folder, workers=<cluster CPUs>)``, this machine's pipeline;
* **cluster**: ``Library.scan(folder, runner=cluster_runner(address))``, decode tasks and the inference
  actor pool on the cluster, results written here.

For each: wall time per track (whole scan, start-up included: connecting, shipping the package, starting
the actors), wall per track in the steady state (from the first delivered batch to the last), and CPU
seconds per track of everything involved (this process and its children, and for the cluster every
process of its nodes: raylets, GCS, workers, actors; sampled from /proc every 0.5 s, the sampling's
own CPU left out), and the idle cluster's CPU per second (Ray's daemons). Then the cluster/local ratios
and a projection for 1M tracks on N nodes from the measured per-track costs. Appends a JSON line to
benchmarks/results/cluster.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import corpus_songs, make_songs
from musicsim.cluster import cluster_runner
from musicsim.cluster.local import LocalCluster, descendants
from musicsim.library.library import Library
from musicsim.model.modelfile import default_model_path

RESULTS = Path(__file__).parent / "results" / "cluster.jsonl"
_TICK = os.sysconf("SC_CLK_TCK")
IDLE_S = 15.0
PATCH_BYTES = 8 * 187 * 96 * 4  # one track's musicnn patches (float32) moved from a decode node to an actor


def _cpu(pid: int) -> float | None:
    """CPU seconds ``pid`` has used itself (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


class CpuSampler:
    """CPU seconds used by a process tree while it runs, sampled from /proc every ``period`` seconds.

    Processes that end during the run (Ray stops its actors at the end of a scan, and exited children's
    time is not always added to their parent's) count up to their last sample. ``exclude``: roots whose
    trees are left out (the cluster's nodes, during a local scan: they are this process's children).
    """

    def __init__(self, root: int, exclude: list[int], period: float = 0.5) -> None:
        self.root, self.exclude, self.period = root, exclude, period
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.started = False
        self.own = 0.0  # CPU seconds the sampling itself took (in this process: subtracted)
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        with self.lock:
            self._sample_locked()

    def now(self) -> float:
        """The tree's CPU seconds so far (sampled now)."""
        self._sample()
        return self.total

    def _sample_locked(self) -> None:
        t0 = time.thread_time()
        skip = set(self.exclude)
        for r in self.exclude:
            skip.update(descendants(r))
        for pid in [self.root, *descendants(self.root)]:
            if pid in skip or (value := _cpu(pid)) is None:
                continue
            self.first.setdefault(pid, value if not self.started else 0.0)
            self.last[pid] = value
        self.started = True
        self.own += time.thread_time() - t0

    def _run(self) -> None:
        while not self.stop_event.wait(self.period):
            self._sample()

    def __enter__(self) -> CpuSampler:
        self._sample()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join()
        self._sample()

    @property
    def total(self) -> float:
        return sum(self.last[p] - self.first[p] for p in self.last) - self.own


class Timed:
    """Wraps a runner: when the first and the last results were delivered, and how many came first."""

    def __init__(self, runner: Callable[..., None]) -> None:
        self.runner = runner
        self.sampler: CpuSampler | None = None
        self.cpu_first = self.cpu_last = 0.0
        self.first: tuple[float, int] | None = None
        self.last = 0.0
        self.count = 0

    def __call__(self, jobs: Any, model: Any, **kw: Any) -> None:
        on_results = kw.pop("on_results")

        def timed(batch: list[Any]) -> None:
            on_results(batch)
            now = time.monotonic()
            self.count += len(batch)
            cpu = self.sampler.now() if self.sampler is not None else 0.0
            if self.first is None:
                self.first, self.cpu_first = (now, self.count), cpu
            self.last, self.cpu_last = now, cpu

        self.runner(jobs, model, on_results=timed, **kw)

    def steady(self) -> float | None:
        """Wall seconds per track after the first delivered batch (None if it all came at once)."""
        if self.first is None or self.count <= self.first[1] or self.last <= self.first[0]:
            return None
        return (self.last - self.first[0]) / (self.count - self.first[1])

    def steady_cpu(self) -> float | None:
        """CPU seconds per track after the first delivered batch: the marginal cost, start-up left out."""
        if self.first is None or self.count <= self.first[1]:
            return None
        return (self.cpu_last - self.cpu_first) / (self.count - self.first[1])


def scan(kind: str, folder: Path, n: int, workers: int, address: str, cluster: LocalCluster,
         work: Path) -> dict[str, float | None]:
    from musicsim.analysis.pipeline import run_analysis

    data = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=work))
    runner = Timed(cluster_runner(address, default_model_path()) if kind == "cluster" else
                   lambda jobs, model, **kw: run_analysis(jobs, model, **dict(kw, workers=workers)))
    nodes = [p.pid for p in cluster.nodes if p.poll() is None]
    d0, t0 = _cpu(os.getpid()) or 0.0, time.monotonic()
    with CpuSampler(os.getpid(), [] if kind == "cluster" else nodes) as sampler:
        runner.sampler = sampler
        with Library(data, device="cpu") as lib:
            lib.sync_folder(folder)
            t_walk = time.monotonic()
            report = lib.analyse_pending(runner=runner)
    wall, cpu = time.monotonic() - t0, sampler.total
    driver = (_cpu(os.getpid()) or 0.0) - d0 - sampler.own
    if report.analysed != n or report.failed:
        raise SystemExit(f"{kind} scan analysed {report.analysed} of {n} ({report.failed} failed)")
    shutil.rmtree(data, ignore_errors=True)
    return {"wall_s_per_track": wall / n, "steady_wall_s_per_track": runner.steady(),
            "cpu_s_per_track": cpu / n, "steady_cpu_s_per_track": runner.steady_cpu(),
            "driver_cpu_s_per_track": driver / n,
            "analysis_start_s": (runner.first[0] - t_walk) if runner.first else None}


def fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def projection(cpu_per_track: float, driver_per_track: float, cores: int, tracks: int = 1_000_000) -> list[str]:
    lines = [f"| nodes ({cores} cores each) | CPU-bound wall | driver-bound floor | projected wall |",
             "|---|---|---|---|"]
    floor = tracks * driver_per_track
    for nodes in (1, 2, 4, 16, 64):
        cpu_wall = tracks * cpu_per_track / (nodes * cores)
        wall = max(cpu_wall, floor)
        lines.append(f"| {nodes} | {cpu_wall / 3600:.1f} h | {floor / 3600:.1f} h | {wall / 3600:.1f} h |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--songs", type=int, default=24)
    ap.add_argument("--songs-dir", type=Path, default=Path(tempfile.gettempdir()) / "musicsim-corpus-songs")
    ap.add_argument("--gtzan", action="store_true", help="songs looped from GTZAN clips instead of the corpus")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--nodes", type=int, default=2)
    ap.add_argument("--cpus-per-node", type=int, default=1)
    ap.add_argument("--project-cores", type=int, default=16, help="cores per node in the 1M-track projection")
    args = ap.parse_args()

    paths = (make_songs(args.songs_dir, args.songs) if args.gtzan else corpus_songs(args.songs_dir, args.songs))
    work = Path(tempfile.mkdtemp(prefix="musicsim-bench-cluster-"))
    folder = work / "music"
    folder.mkdir()
    for p in paths:  # exactly these songs (the songs folder may hold more from a larger run)
        try:
            os.link(p, folder / p.name)
        except OSError:
            shutil.copy2(p, folder / p.name)
        (folder / p.name).read_bytes()
    cpus = args.nodes * args.cpus_per_node
    print(f"{len(paths)} songs; local scan with {cpus} workers vs a {args.nodes}-node local Ray cluster of "
          f"{args.cpus_per_node} CPU each; load average {os.getloadavg()[0]:.1f}", flush=True)
    cluster = LocalCluster(cpus_per_node=args.cpus_per_node).start(args.nodes)
    runs: dict[str, list[dict[str, float | None]]] = {"local": [], "cluster": []}
    try:
        time.sleep(5)  # let the nodes settle, then: what the idle cluster burns
        with CpuSampler(cluster.nodes[0].pid, []) as head, CpuSampler(cluster.nodes[-1].pid, []) as node:
            time.sleep(IDLE_S)
        idle = {"head_cpu_per_s": head.total / IDLE_S, "node_cpu_per_s": node.total / IDLE_S}
        print(f"  idle cluster: head {idle['head_cpu_per_s']:.3f}, other node {idle['node_cpu_per_s']:.3f} CPU-s/s",
              flush=True)
        for r in range(args.repeat):
            for kind in (("local", "cluster") if r % 2 == 0 else ("cluster", "local")):
                result = scan(kind, folder, len(paths), cpus, cluster.address, cluster, work)
                runs[kind].append(result)
                print(f"  {kind:8s} run {r + 1}: " + ", ".join(f"{k} {v:.3f}" for k, v in result.items()
                                                              if v is not None), flush=True)
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)

    def med(kind: str, key: str) -> float | None:
        values = [v for run in runs[kind] if (v := run[key]) is not None]
        return statistics.median(values) if values else None

    keys = list(runs["local"][0])
    print("\n| per track (median) | local | cluster | cluster / local |\n|---|---|---|---|")
    summary: dict[str, dict[str, float | None]] = {}
    for key in keys:
        lo, cl = med("local", key), med("cluster", key)
        ratio = cl / lo if lo and cl else None
        summary[key] = {"local": lo, "cluster": cl, "ratio": ratio}
        print(f"| {key} | {fmt(lo)} | {fmt(cl)} | {fmt(ratio)} |")
    cpu = summary["steady_cpu_s_per_track"]["cluster"] or summary["cpu_s_per_track"]["cluster"]
    driver = summary["driver_cpu_s_per_track"]["cluster"]
    assert cpu is not None and driver is not None
    print(f"\nProjection, 1M tracks (cluster CPU {cpu:.3f} s/track in the steady state, spread over the nodes; "
          f"the driver's {driver:.4f} CPU-s/track on one core is the floor; patches moved per track: "
          f"{PATCH_BYTES / 1e6:.2f} MB):")
    print("\n".join(projection(cpu, driver, args.project_cores)))
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as fh:
        fh.write(json.dumps(dict(when=time.strftime("%Y-%m-%d %H:%M:%S"), load_avg=os.getloadavg(),
                                 songs=len(paths), nodes=args.nodes, cpus_per_node=args.cpus_per_node,
                                 python=sys.version.split()[0], idle=idle, runs=runs, summary=summary)) + "\n")


if __name__ == "__main__":
    main()
