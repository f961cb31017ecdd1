"""The driver side of a cluster scan: decode tasks and an inference actor pool on Ray, results streamed
back into the same ``on_results`` a local scan calls (the Library writes them: same transactions).

::

    jobs (pulled lazily) ─> decode tasks (1 CPU each, any node) ─> patches stay in the object store
          ─> inference actors (per GPU, else per few cores; batches across tracks) ─> JobResults
          ─> driver: on_results(batch) ─> Library: catalogue transaction + index, as locally

The driver holds every unfinished track until its result is delivered, so a node that dies costs
only its in-flight tracks: Ray re-runs lost decode tasks and restarts lost actors elsewhere; a call whose
actor is unavailable goes back to the queue with the same patches; whatever else failed is decoded and
inferred again (up to :data:`MAX_ATTEMPTS` times, a retried track alone in its batch, so one bad file
cannot take its neighbours down with it). A track is delivered at most once
(the driver drops duplicates of at-least-once retries).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ray
from ray.exceptions import ActorUnavailableError, RayActorError, RayError, RayTaskError, TaskCancelledError

import musicsim
from musicsim.analysis.pipeline import AnalysisJob, JobResult, PipelineProgress, _Delivery
from musicsim.analysis.segments import DEFAULT_SEGMENTS
from musicsim.cluster import ClusterError
from musicsim.cluster.plan import ClusterPlan, plan_for
from musicsim.cluster.remote import Decoded, EngineSpec, InferenceActor, decode

if TYPE_CHECKING:
    from musicsim.model.runtime import AnalysisModel

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # per track, on top of Ray's own retries (lost nodes, crashed workers)
START_TIMEOUT_S = 300.0  # inference actors must be up by then (first start on a node builds its env)
CONNECT_TIMEOUT_S = 10.0
START_HINT = ("Start one with `ray start --head` (and `ray start --address HEAD:PORT` on the other machines); "
              "see docs/cluster.md.")
ACTOR_REST_S = 1.0  # an unavailable actor gets no calls for this long
MAX_UNAVAILABLE = 120  # calls a track may find its actor unavailable (node gone, restart pending) before it fails
ACTOR_OPTIONS = {"max_restarts": -1, "max_task_retries": 2}


@dataclass
class _Track:
    job: AnalysisJob
    attempts: int = 0
    solo: bool = False  # retried: inferred alone, so a bad file fails only itself
    unavailable: int = 0  # calls that found their actor unavailable


@dataclass
class _Call:
    actor: int
    items: list[tuple[_Track, Any, int]]  # (track, patches ref, patch count), as they waited


@dataclass
class _Actors:
    handles: list[Any]
    inflight: list[int] = field(default_factory=list)
    resting: list[float] = field(default_factory=list)  # monotonic time until which an actor gets no calls

    def pick(self, limit: int) -> int | None:
        """The least busy actor with a free slot (not resting after being unavailable)."""
        now = time.monotonic()
        free = [i for i, n in enumerate(self.inflight) if n < limit and self.resting[i] <= now]
        return min(free, key=lambda i: self.inflight[i]) if free else None


def _engine_spec(model: AnalysisModel, model_path: str | os.PathLike[str], gpus: bool) -> EngineSpec:
    """The engine the actors build: the local ONNX graph for CPUs (byte for byte what local workers run),
    the weights for GPUs."""
    from musicsim.model.onnx_model import OnnxModel

    graph = model.graph if isinstance(model, OnnxModel) else None
    weights = None
    if gpus or graph is None:
        from musicsim.model.modelfile import is_legacy, read_model

        if is_legacy(model_path):
            from musicsim.model.checkpoint import load_checkpoint

            meta, weights = (ckpt := load_checkpoint(model_path)).meta, ckpt.arrays()
        else:
            meta, weights = read_model(model_path)
        if graph is None:
            graph = OnnxModel.from_weights(meta, weights).graph
    from musicsim.model.modelfile import ModelMeta

    meta_dict = (model.meta if isinstance(model, OnnxModel) else
                 ModelMeta(model.version, model.features, model.checkpoint.network, list(model.genres),
                           list(model.tags), dict(model.checkpoint.card))).to_dict()
    return EngineSpec(meta_dict, graph, weights if gpus else None)


def _reachable(address: str) -> None:
    """Raise ClusterError unless the cluster's head answers (``ray.init`` waits for an absent head for minutes)."""
    try:
        from ray._private.services import canonicalize_bootstrap_address

        resolved = canonicalize_bootstrap_address(address) or address  # "auto": the cluster this machine is in
    except Exception as exc:
        raise ClusterError(f"Cannot find the Ray cluster at {address}: {exc}\n{START_HINT}") from exc
    host, _, port = resolved.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"{address} is not a Ray cluster address: give auto or HEAD:PORT (e.g. 10.0.0.5:6379).")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ClusterError(f"Cannot reach the Ray cluster at {address} ({resolved}): {exc}\n{START_HINT}") from exc


def connect(address: str) -> bool:
    """Join the cluster as a driver (shipping this musicsim package to its nodes); True if this call
    connected (and the caller should disconnect)."""
    if ray.is_initialized():
        return False
    _reachable(address)
    package = os.path.dirname(os.path.abspath(musicsim.__file__))
    try:
        ray.init(address=address, runtime_env={"py_modules": [package]}, log_to_driver=False,
                 logging_level=logging.WARNING, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterError(f"Cannot reach the Ray cluster at {address}: {exc}\n{START_HINT}") from exc
    return True


class ClusterRunner:
    """``run_analysis`` on a Ray cluster: call it as the Library calls the local pipeline."""

    def __init__(self, address: str, model_path: str | os.PathLike[str]) -> None:
        self.address = address
        self.model_path = model_path
        self.plan: ClusterPlan | None = None  # the last run's (for reports and tests)
        self.decoded_by: Counter[str] = Counter()  # Ray node id -> files decoded there (all runs, live)

    def __call__(self, jobs: Iterable[AnalysisJob], model: AnalysisModel, *, workers: int | None = None,
                 segments_per_track: int = DEFAULT_SEGMENTS, on_results: Callable[[list[JobResult]], None],
                 cancel: threading.Event | None = None,
                 progress: Callable[[PipelineProgress], None] | None = None) -> None:
        """Analyse ``jobs`` on the cluster (``workers`` is the cluster's business: ignored)."""
        cancel = cancel or threading.Event()
        connected = connect(self.address)
        try:
            resources = ray.cluster_resources()
            try:
                self.plan = plan_for(resources.get("CPU", 0), resources.get("GPU", 0))
            except ValueError as exc:
                raise ClusterError(f"The Ray cluster at {self.address} cannot analyse: {exc}.") from exc
            log.info("cluster scan at %s: %s", self.address, self.plan.describe())
            spec = ray.put(_engine_spec(model, self.model_path, self.plan.on_gpus))
            run = _Run(iter(jobs), model, self.plan, spec, segments_per_track, on_results, cancel, progress,
                       self.decoded_by)
            try:
                run.run()
            finally:
                log.info("files decoded per node so far: %s", dict(self.decoded_by))
        finally:
            if connected:
                ray.shutdown()


class _Run:
    """One scan's driver loop (single-threaded: ``on_results`` and ``progress`` run in the caller's thread)."""

    def __init__(self, jobs: Iterator[AnalysisJob], model: AnalysisModel, plan: ClusterPlan, spec: Any,
                 n_segments: int, on_results: Callable[[list[JobResult]], None], cancel: threading.Event,
                 progress: Callable[[PipelineProgress], None] | None, decoded_by: Counter[str]) -> None:
        self.jobs, self.plan, self.cancel = jobs, plan, cancel
        self.features = model.features.to_dict()
        self.n_segments = n_segments
        self.out = _Delivery(on_results, progress)
        self.exhausted = False
        self.retry: deque[_Track] = deque()
        self.unfinished: dict[int, _Track] = {}  # track id -> not yet delivered
        self.decoding: dict[Any, tuple[_Track, Any]] = {}  # status ref -> (track, patches ref)
        self.waiting: list[tuple[_Track, Any, int]] = []  # decoded: (track, patches ref, patch count)
        self.calls: dict[Any, _Call] = {}  # inference ref -> call
        self.decoded_by = decoded_by
        options: dict[str, Any] = dict(ACTOR_OPTIONS, max_concurrency=plan.threads, scheduling_strategy="SPREAD")
        options.update({"num_gpus": 1} if plan.on_gpus else {"num_cpus": 0})
        cls = ray.remote(InferenceActor)
        # The engine spec travels with the calls, nested in a list (not resolved by Ray, fetched once per
        # actor life); the driver holds the reference for the whole run, so a restarted actor finds it.
        self.spec = [spec]
        self.actors = _Actors([cls.options(**options).remote(plan.on_gpus) for _ in range(plan.actors)],
                              [0] * plan.actors, [0.0] * plan.actors)

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._submit_decodes()  # the first files decode while the actors start
            self._wait_for_actors()
            while not self.cancel.is_set():
                self._submit_decodes()
                self._submit_calls()
                if not self.decoding and not self.calls and not self.waiting and self._no_more_jobs():
                    break
                refs = list(self.decoding) + list(self.calls)
                if not refs:  # decoded tracks wait for a resting actor
                    time.sleep(0.05)
                    self.out.tick()
                    continue
                ready, _ = ray.wait(refs, num_returns=1, timeout=0.2)
                if ready:  # then everything else that is done, in one call (thousands in flight on a big cluster)
                    ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
                for ref in ready:
                    if ref in self.decoding:
                        self._decoded(ref)
                    else:
                        self._inferred(ref)
                self.out.tick()
            if not self.cancel.is_set():
                self.out.flush(report=True)
        finally:
            self._stop()

    def _wait_for_actors(self) -> None:
        pending = {a.ready.remote(self.spec): i for i, a in enumerate(self.actors.handles)}
        deadline = time.monotonic() + START_TIMEOUT_S
        while pending and not self.cancel.is_set():
            ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0.5)
            for ref in ready:
                i = pending.pop(ref)
                try:
                    log.info("inference actor %d: %s", i, ray.get(ref))
                except RayError as exc:
                    raise ClusterError(f"The inference engine could not start on the cluster: {_cause(exc)}") from exc
            self.out.tick()
            if pending and time.monotonic() > deadline:
                raise ClusterError(f"The inference engine did not start on the cluster within {START_TIMEOUT_S:.0f} s "
                                   "(no node with a free GPU or CPU? see `ray status`).")

    def _stop(self) -> None:
        for ref in list(self.decoding):
            try:
                ray.cancel(ref)
            except Exception:
                log.debug("cancelling a decode task failed", exc_info=True)
        for actor in self.actors.handles:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:
                log.debug("stopping an inference actor failed", exc_info=True)

    # -- feeding -----------------------------------------------------------------------------
    def _no_more_jobs(self) -> bool:
        return self.exhausted and not self.retry

    def _next(self) -> _Track | None:
        if self.retry:
            return self.retry.popleft()
        if self.exhausted:
            return None
        job = next(self.jobs, None)
        if job is None:
            self.exhausted = True
            return None
        track = self.unfinished[job.track_id] = _Track(job)
        return track

    def _submit_decodes(self) -> None:
        while (len(self.decoding) < self.plan.max_decoding and len(self.waiting) < self.plan.max_waiting
               and (track := self._next()) is not None):
            refs: Any = decode.remote(track.job.track_id, track.job.path, self.features, self.n_segments)
            status, patches = refs  # num_returns=2: the small reply, the patches
            self.decoding[status] = (track, patches)
            self.out.current = track.job.path

    def _submit_calls(self) -> None:
        """Hand decoded tracks to actors: a full batch to any actor with a free slot, whatever is ready to
        an idle one (or when nothing more is coming)."""
        while self.waiting:
            idle_only = (sum(n for _, _, n in self.waiting) < self.plan.batch_patches and not self.waiting[0][0].solo
                         and (self.decoding or not self._no_more_jobs()))
            # a part batch only to an actor with a thread free; a full one to any with room for two per thread
            actor = self.actors.pick(self.plan.threads if idle_only else 2 * self.plan.threads)
            if actor is None:
                return
            batch: list[tuple[_Track, Any, int]] = []
            if self.waiting[0][0].solo:
                batch.append(self.waiting.pop(0))
            else:
                total = 0
                for item in list(self.waiting):
                    if item[0].solo or total >= self.plan.batch_patches:
                        break
                    batch.append(item)
                    self.waiting.remove(item)
                    total += item[2]
            ids = [t.job.track_id for t, _, _ in batch]
            ref = self.actors.handles[actor].infer.remote(self.spec, ids, *[p for _, p, _ in batch])
            self.calls[ref] = _Call(actor, batch)
            self.actors.inflight[actor] += 1

    # -- results -----------------------------------------------------------------------------
    def _decoded(self, ref: Any) -> None:
        track, patches = self.decoding.pop(ref)
        try:
            status: Decoded = ray.get(ref)
        except RayError as exc:
            self._retry(track, exc, "decoding")
            return
        self.decoded_by[status.node_id] += 1
        if status.error is not None:
            if status.node:
                log.debug("%s failed on %s: %s", track.job.path, status.node, status.error)
            self._deliver([JobResult(track.job.track_id, None, status.error)])
            return
        self.waiting.append((track, patches, status.patches))

    def _inferred(self, ref: Any) -> None:
        call = self.calls.pop(ref)
        self.actors.inflight[call.actor] -= 1
        try:
            results: list[JobResult] = ray.get(ref)
        except ActorUnavailableError as exc:
            # Its node is gone or restarting (after Ray's own retries): the patches are still good (Ray
            # rebuilds lost ones), so the same tracks wait for an actor again; this one rests a moment.
            log.info("inference actor %d unavailable (%s); %d tracks wait for another try", call.actor,
                     _cause(exc), len(call.items))
            self.actors.resting[call.actor] = time.monotonic() + ACTOR_REST_S
            for item in call.items:
                item[0].unavailable += 1
            self.waiting[:0] = [item for item in call.items if item[0].unavailable <= MAX_UNAVAILABLE]
            for track, _, _ in call.items:
                if track.unavailable > MAX_UNAVAILABLE:  # no actor for minutes: counts as a failed attempt
                    self._retry(track, exc, "inference")
            return
        except RayError as exc:
            for track, _, _ in call.items:
                self._retry(track, exc, "inference")
            return
        self._deliver(results)

    def _retry(self, track: _Track, exc: RayError, stage: str) -> None:
        track.attempts += 1
        if isinstance(exc, TaskCancelledError) and self.cancel.is_set():
            return
        log.warning("%s of %s failed on the cluster (attempt %d of %d): %s", stage, track.job.path, track.attempts,
                    MAX_ATTEMPTS, _cause(exc))
        if track.attempts >= MAX_ATTEMPTS:
            self._deliver([JobResult(track.job.track_id, None, _reason(exc, stage))])
            return
        track.solo = True
        self.retry.append(track)

    def _deliver(self, results: list[JobResult]) -> None:
        fresh = [r for r in results if self.unfinished.pop(r.track_id, None) is not None]
        if len(fresh) < len(results):
            log.info("dropped %d duplicate cluster results", len(results) - len(fresh))
        if fresh:
            self.out.add(fresh)


def _cause(exc: BaseException) -> str:
    if isinstance(exc, RayTaskError) and exc.cause is not None:
        return f"{type(exc.cause).__name__}: {exc.cause}"
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


def _reason(exc: RayError, stage: str) -> str:
    """A problem's reason for people, after the last attempt."""
    from musicsim.analysis.pipeline import CRASHED

    if isinstance(exc, RayTaskError):
        return f"the cluster could not run the {stage} of this file ({_cause(exc)})"
    if isinstance(exc, RayActorError) and stage == "inference":
        return f"the network's worker on the cluster died on this file {MAX_ATTEMPTS} times"
    if stage == "decoding" and "WorkerCrashed" in type(exc).__name__:
        return CRASHED
    return f"lost on the cluster {MAX_ATTEMPTS} times ({type(exc).__name__}): a node failing or out of memory?"


__all__ = ["ClusterRunner", "connect"]
