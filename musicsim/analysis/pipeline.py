"""The analysis pipeline: one worker process per core, results delivered in batches.

::

    CPU (ONNX Runtime):  jobs ──> N worker processes, each: decode windows, log-mel patches, network,
                                  pooling (one engine on one thread per worker, like one bliss per core)
    GPU / torch:         jobs ──> N worker processes (decode, log-mel) ──> parent: torch inference
                                  (GPU: one thread, large batches across tracks; CPU fallback: one
                                  thread per core, one torch thread each, small passes within a track)
                         ──> on_results(list[JobResult]) in batches (the library writes each in one transaction)

Workers are forkserver (or spawn) children, never forks of the parent; :func:`warm_up` starts the
fork server (with the worker and engine modules preloaded) ahead of time, so a scan's workers start
during its folder walk. Memory stays bounded whatever the library size: jobs are pulled lazily,
each worker holds at most ``PREFETCH`` jobs, and at most two batches per inference thread wait. A
worker that crashes (a segfaulting decoder) or hangs (longer than ``job_timeout``) fails only its
current file and is replaced. Results do not depend on the number of workers or on the batch size
(within float rounding): every file's patches are computed by the same code and each track is
inferred on its own, except on a GPU, where batches span tracks.
Measurements behind these choices: docs/performance.md.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import numpy as np

from musicsim.analysis.segments import DEFAULT_SEGMENTS, track_patches
from musicsim.analysis.worker import READY, analyse_fully, analyse_job, worker_main
from musicsim.model.outputs import SegmentOutputs, TrackResult, pool_segments
from musicsim.model.runtime import cores, onnxruntime_available

if TYPE_CHECKING:
    from musicsim.model.inference import LoadedModel
    from musicsim.model.onnx_model import OnnxModel

    Model: TypeAlias = LoadedModel | OnnxModel

PREFETCH = 2  # jobs queued per worker, so a worker never waits for its next file
# Patches per forward pass on a CPU. Passes of 1-2 patches cost about half the CPU time per patch of
# passes of 64 (intermediate maps stay in cache), and one torch thread per inference thread beats
# torch's intra-op threads: benchmarks/bench_inference.py.
CPU_CHUNK = 2
GPU_BATCH = 512
RESULT_BATCH = 64  # tracks per on_results call (or whatever is ready after a second)
CRASHED = "the decoder crashed on this file (corrupt or unsupported stream)"


@dataclass(frozen=True)
class AnalysisJob:
    track_id: int
    path: str


@dataclass
class JobResult:
    track_id: int
    result: TrackResult | None
    error: str | None  # reason for people, when result is None


@dataclass
class PipelineProgress:
    done: int  # jobs finished (analysed or failed) and delivered
    failed: int
    current_path: str | None  # a file being worked on now


def default_workers() -> int:
    """All cores this process may use."""
    return cores()


def analyse_file(path: str | os.PathLike[str], model: Model,
                 segments_per_track: int = DEFAULT_SEGMENTS) -> TrackResult:
    """One file's pooled result, in this process; raises :class:`DecodeError` for bad input."""
    patches = track_patches(path, model.features, segments_per_track)
    chunk = CPU_CHUNK if model.on_cpu else None
    result = infer(model, [(0, patches)], chunk)[0].result
    assert result is not None
    return result


# --------------------------------------------------------------------------------------------
# Inference: threads sharing the model (eval-mode forward passes do not change it), fed whole tracks


def _concat(outs: list[SegmentOutputs]) -> SegmentOutputs:
    return SegmentOutputs(*(np.concatenate([getattr(o, f) for o in outs]) for f in
                            ("embeddings", "genre_probs", "tag_probs")))


def infer(model: Model, batch: list[tuple[int, np.ndarray]], chunk: int | None) -> list[JobResult]:
    """Pooled results for whole tracks' patches.

    ``chunk``: patches per forward pass, taken within each track (CPU: small passes stay in
    cache, and a track's result does not depend on its neighbours); ``None``: all tracks'
    patches in one call, split by the model's own batch size (GPU).
    """
    if chunk is None:
        out = model.predict(np.concatenate([p for _, p in batch]))
        results, start = [], 0
        for track_id, patches in batch:
            stop = start + len(patches)
            seg = SegmentOutputs(out.embeddings[start:stop], out.genre_probs[start:stop], out.tag_probs[start:stop])
            results.append(JobResult(track_id, pool_segments(seg), None))
            start = stop
        return results
    return [JobResult(track_id, pool_segments(_concat([model.predict(patches[s : s + chunk])
                                                        for s in range(0, len(patches), chunk)])), None)
            for track_id, patches in batch]


class _Inference:
    """Threads running the model on batches of decoded tracks; results wait in ``done``."""

    def __init__(self, model: Model, threads: int, chunk: int | None):
        self.model, self.chunk = model, chunk
        self.todo: queue.Queue[list[tuple[int, np.ndarray]] | None] = queue.Queue(maxsize=2 * threads)
        self.done: queue.Queue[list[JobResult] | BaseException] = queue.Queue()
        self.threads = [threading.Thread(target=self._run, name="musicsim-inference", daemon=True)
                        for _ in range(threads)]
        for t in self.threads:
            t.start()

    def _run(self) -> None:
        while (batch := self.todo.get()) is not None:
            try:
                self.done.put(infer(self.model, batch, self.chunk))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the pipeline's thread
                self.done.put(exc)

    def stop(self, drop: bool = False) -> None:
        """Let the threads finish; ``drop``: discard batches not yet started (after a cancel)."""
        while drop:
            try:
                self.todo.get_nowait()
            except queue.Empty:
                break
        for _ in self.threads:
            self.todo.put(None)
        for t in self.threads:
            t.join()


# --------------------------------------------------------------------------------------------
# Worker processes


def _context() -> Any:  # a multiprocessing context (typeshed's BaseContext lacks Process)
    """forkserver where it exists (cheap restarts, no fork of a threaded Qt process), else spawn."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        preload = ["musicsim.analysis.worker"]
        if onnxruntime_available():
            preload += ["onnxruntime", "musicsim.model.onnx_model"]  # each worker's engine, imported once
        ctx.set_forkserver_preload(preload)
        return ctx
    return mp.get_context("spawn")


def warm_up() -> None:
    """Start the fork server now (it imports numpy, the decoders and ONNX Runtime once, for every
    worker to come), so the first worker of a run starts in milliseconds; a no-op where there is none."""
    ctx = _context()
    if ctx.get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    from musicsim.analysis.tempdirs import use_own_temp_dir

    use_own_temp_dir()  # the server's socket folder is named for this process (tempdirs.remove_stale)
    with _main_hidden():
        forkserver.ensure_running()


_MAIN_LOCK = threading.Lock()


@contextmanager
def _main_hidden() -> Iterator[None]:
    """Start processes without re-importing the parent's ``__main__`` in them.

    spawn/forkserver children import the parent's main module (the CLI, the Qt app, a
    benchmark), which pulls torch and Qt into every decoder: seconds of start-up and hundreds
    of MB each. The worker's entry point lives in this package, so the child needs none of it.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    with _MAIN_LOCK:
        saved: dict[str, object] = {k: main.__dict__[k] for k in ("__spec__", "__file__") if k in main.__dict__}
        main.__dict__.pop("__file__", None)
        main.__dict__["__spec__"] = None
        try:
            yield
        finally:
            main.__dict__.pop("__spec__", None)
            main.__dict__.update(saved)


@dataclass
class _Worker:
    process: mp.process.BaseProcess
    conn: Connection
    inflight: deque[AnalysisJob] = field(default_factory=deque)
    started: float = 0.0  # when the head of ``inflight`` began
    ready: bool = False  # the worker has started (the head job's clock runs from then)

    def send(self, job: AnalysisJob) -> None:
        if not self.inflight:
            self.started = time.monotonic()
        self.inflight.append(job)
        self.conn.send((job.track_id, job.path))

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class _Pool:
    def __init__(self, n: int, model: Model, n_segments: int,
                 target: Callable[..., None] = worker_main, engine: Any = None):
        self.ctx = _context()
        self.target = target
        self.args: tuple[Any, ...] = (model.features.to_dict(), n_segments)
        if engine is not None:
            self.args += (engine,)
        self.workers = [self.start() for _ in range(n)]

    def start(self) -> _Worker:
        parent, child = self.ctx.Pipe(duplex=True)
        proc = self.ctx.Process(target=self.target, args=(child, *self.args), daemon=True,
                                name="musicsim-decoder")
        with _main_hidden():
            proc.start()
        child.close()
        return _Worker(proc, parent)

    def replace(self, w: _Worker) -> _Worker:
        w.kill()
        new = self.start()
        self.workers[self.workers.index(w)] = new
        return new

    def close(self) -> None:
        for w in self.workers:
            try:
                w.conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + 2
        for w in self.workers:
            w.process.join(timeout=max(0.0, deadline - time.monotonic()))
            w.kill()


# --------------------------------------------------------------------------------------------


def run_analysis(
    jobs: Iterable[AnalysisJob],
    model: Model,
    *,
    workers: int | None = None,
    segments_per_track: int = DEFAULT_SEGMENTS,
    batch_size: int | None = None,
    on_results: Callable[[list[JobResult]], None],
    cancel: threading.Event | None = None,
    progress: Callable[[PipelineProgress], None] | None = None,
    job_timeout: float = 120.0,
) -> None:
    """Analyse ``jobs``, delivering every job's :class:`JobResult` through ``on_results`` in batches.

    ``workers``: worker processes (default: all cores); 0 works in this thread (no processes).
    ``batch_size``: patches per forward pass. An engine that runs in the workers (ONNX Runtime:
    ``model.in_workers``) uses its own default (1) within each track; torch on a CPU
    :data:`CPU_CHUNK` within each track, one inference thread per core with one torch thread each
    for the duration of the run; torch on a GPU :data:`GPU_BATCH` across tracks, one inference thread.
    ``cancel``: when set, stops promptly; work in flight is dropped, never delivered half done.
    ``progress`` is called at least once a second. ``on_results`` and ``progress`` run in the
    calling thread. Returns when all jobs are delivered or after a cancel.
    """
    workers = default_workers() if workers is None else max(0, workers)
    cancel = cancel or threading.Event()
    if model.in_workers:
        engine = cast("OnnxModel", model).payload()
        if batch_size:
            engine = replace(engine, batch_size=batch_size)
        if workers == 0:
            from musicsim.model.onnx_model import OnnxModel

            _run_inline(iter(jobs), OnnxModel.from_payload(engine), segments_per_track, None, 1, on_results,
                        cancel, progress)
        else:
            _run_pool(iter(jobs), model, workers, segments_per_track, None, 1, on_results, cancel, progress,
                      job_timeout, engine=engine)
        return
    import torch

    on_cpu = model.on_cpu
    chunk = (batch_size or CPU_CHUNK) if on_cpu else None
    group = 1 if on_cpu else (batch_size or GPU_BATCH)  # patches gathered before a batch is handed over
    torch_threads = torch.get_num_threads()
    if on_cpu:
        torch.set_num_threads(1)  # parallel over inference threads instead (see CPU_CHUNK)
    try:
        if workers == 0:
            _run_inline(iter(jobs), model, segments_per_track, chunk, group, on_results, cancel, progress)
        else:
            _run_pool(iter(jobs), model, workers, segments_per_track, chunk, group, on_results, cancel,
                      progress, job_timeout, threads=default_workers() if on_cpu else 1)
    finally:
        torch.set_num_threads(torch_threads)


class _Delivery:
    """Collects results and hands them to ``on_results`` in batches, reporting progress."""

    def __init__(self, on_results: Callable[[list[JobResult]], None],
                 progress: Callable[[PipelineProgress], None] | None):
        self.on_results, self.progress = on_results, progress
        self.buffer: list[JobResult] = []
        self.done = self.failed = 0
        self.last = time.monotonic()
        self.current: str | None = None

    def add(self, results: list[JobResult]) -> None:
        self.buffer.extend(results)
        if len(self.buffer) >= RESULT_BATCH:
            self.flush()

    def tick(self) -> None:
        if time.monotonic() - self.last >= 1.0:
            self.flush(report=True)

    def flush(self, report: bool = False) -> None:
        if self.buffer:
            batch, self.buffer = self.buffer, []
            self.on_results(batch)
            self.done += len(batch)
            self.failed += sum(r.error is not None for r in batch)
            report = True
        if report and self.progress:
            self.progress(PipelineProgress(self.done, self.failed, self.current))
        self.last = time.monotonic()


def _run_inline(jobs: Iterator[AnalysisJob], model: Model, n_segments: int, chunk: int | None,
                group: int, on_results: Callable[[list[JobResult]], None], cancel: threading.Event,
                progress: Callable[[PipelineProgress], None] | None) -> None:
    out = _Delivery(on_results, progress)
    batch: list[tuple[int, np.ndarray]] = []
    for job in jobs:
        if cancel.is_set():
            return
        out.current = job.path
        if model.in_workers:  # the whole track here, as a worker would
            track_id, result, error = analyse_fully(job.track_id, job.path, model.features, n_segments,
                                                    cast("OnnxModel", model))
            out.add([JobResult(track_id, result if isinstance(result, TrackResult) else None, error)])
            out.tick()
            continue
        track_id, patches, error = analyse_job(job.track_id, job.path, model.features, n_segments)
        if not isinstance(patches, np.ndarray):
            out.add([JobResult(track_id, None, error)])
        else:
            batch.append((track_id, patches))
        if sum(len(p) for _, p in batch) >= group:
            results = infer(model, batch, chunk)
            batch = []
            if cancel.is_set():
                return
            out.add(results)
        out.tick()
    if batch and not cancel.is_set():
        out.add(infer(model, batch, chunk))
    if not cancel.is_set():
        out.flush(report=True)


def _run_pool(jobs: Iterator[AnalysisJob], model: Model, n_workers: int, n_segments: int,
              chunk: int | None, group: int, on_results: Callable[[list[JobResult]], None],
              cancel: threading.Event, progress: Callable[[PipelineProgress], None] | None,
              job_timeout: float, threads: int = 1, target: Callable[..., None] = worker_main,
              engine: Any = None) -> None:
    """The multi-process pipeline; ``target`` is the worker's entry point (tests replace it).

    ``engine``: an :class:`~musicsim.model.onnx_model.OnnxPayload` each worker builds its engine
    from (workers reply with pooled results); None: workers reply with patches for ``model``.
    """
    out = _Delivery(on_results, progress)
    requeue: deque[AnalysisJob] = deque()
    exhausted = False
    batch: list[tuple[int, np.ndarray]] = []
    batch_patches = 0
    in_inference = 0  # tracks handed to the inference threads, not yet back
    inference = _Inference(model, 0 if engine is not None else threads, chunk)
    pool = _Pool(n_workers, model, n_segments, target, engine)

    def next_job() -> AnalysisJob | None:
        nonlocal exhausted
        if requeue:
            return requeue.popleft()
        if exhausted:
            return None
        job = next(jobs, None)
        exhausted = job is None
        return job

    def fail(job: AnalysisJob, reason: str) -> None:
        out.add([JobResult(job.track_id, None, reason)])

    def submit_batch() -> None:
        nonlocal batch, batch_patches, in_inference
        if batch:
            inference.todo.put(batch)  # blocks while two per thread wait: bounded memory
            in_inference += len(batch)
            batch, batch_patches = [], 0

    try:
        while not cancel.is_set():
            # Keep every worker fed.
            for w in list(pool.workers):
                while len(w.inflight) < PREFETCH and (job := next_job()) is not None:
                    try:
                        w.send(job)
                    except OSError:  # died while idle: give its jobs to a fresh worker
                        requeue.extendleft(reversed(w.inflight))
                        pool.replace(w)
                        break
                    out.current = job.path
            busy = [w for w in pool.workers if w.inflight]
            if not busy and not batch and in_inference == 0:
                break
            if not busy and batch:
                submit_batch()  # nothing more is coming: run what we have
            # Collect finished inference.
            while True:
                try:
                    item = inference.done.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, BaseException):
                    raise item
                in_inference -= len(item)
                out.add(item)
            # Wait for worker replies (or deaths).
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=0.05) if busy else []
            if not busy and in_inference:
                time.sleep(0.01)
            for w in list(busy):
                if w.conn in ready:
                    try:
                        reply = w.conn.recv()
                    except (EOFError, OSError):
                        pass  # died: handled below
                    else:
                        if reply == READY:
                            w.ready, w.started = True, time.monotonic()
                            continue
                        track_id, patches, error = reply
                        job = w.inflight.popleft()
                        w.started = time.monotonic()
                        if isinstance(patches, TrackResult):
                            out.add([JobResult(track_id, patches, None)])
                        elif patches is None:
                            fail(job, error or "unknown error")
                        else:
                            batch.append((track_id, patches))
                            batch_patches += len(patches)
                            if batch_patches >= group:
                                submit_batch()
                        continue
                if not w.process.is_alive() and w.inflight:
                    fail(w.inflight.popleft(), CRASHED)
                    requeue.extend(w.inflight)
                    pool.replace(w)
                elif w.ready and w.inflight and time.monotonic() - w.started > job_timeout:
                    fail(w.inflight.popleft(), f"decoding took longer than {job_timeout:.0f} s (stuck decoder?)")
                    requeue.extend(w.inflight)
                    pool.replace(w)
            out.tick()
        if not cancel.is_set():
            out.flush(report=True)
    finally:
        pool.close()
        inference.stop(drop=cancel.is_set())
