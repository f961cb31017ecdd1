"""How a scan uses a cluster's resources: a pure function of the cluster's CPU and GPU counts.

* Decoding + log-mel: one Ray task per track, one CPU each, on every node (Ray places them).
* Inference: an actor pool. With GPUs, one actor per GPU (torch, large batches across tracks). Without,
  one actor per :data:`CPUS_PER_ACTOR` cores, each running :data:`INFERENCE_SHARE` of those cores'
  worth of one-thread ONNX Runtime passes at once: the network costs ~0.35 of a track's ~0.48 CPU-s
  (docs/performance.md), so inference needs about three of every four cores. CPU actors reserve no Ray
  CPU (a restarted actor must never wait for a decode slot, nor decode tasks for an actor); the driver's
  back-pressure (decoded tracks waiting for inference are bounded) keeps both fed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CPUS_PER_ACTOR = 4
INFERENCE_SHARE = 0.73  # network / (decode + log-mel + network), CPU seconds per track
CPU_BATCH_PATCHES = 32  # patches per actor call on CPUs (a few tracks: amortises the call, not the maths)
GPU_BATCH_PATCHES = 512  # as the local GPU pipeline (analysis/pipeline.py GPU_BATCH)
PREFETCH = 2  # decode tasks queued per CPU, so a core never waits for its next file


@dataclass(frozen=True)
class ClusterPlan:
    cpus: int  # the cluster's CPUs (Ray's logical CPUs, all nodes)
    gpus: int
    actors: int  # inference actors
    threads: int  # concurrent inference calls per actor (CPU: one-thread passes; GPU: 1)
    batch_patches: int  # patches gathered across tracks before an actor call
    max_decoding: int  # decode tasks in flight
    max_waiting: int  # decoded tracks waiting for an actor call (bounds driver-held references)

    @property
    def on_gpus(self) -> bool:
        return self.gpus > 0

    def describe(self) -> str:
        engine = f"{self.actors} GPU actor(s)" if self.on_gpus else (
            f"{self.actors} CPU actor(s) x {self.threads} ONNX Runtime threads")
        return f"{self.cpus} CPUs decoding, inference on {engine}"


def plan_for(cpus: float, gpus: float) -> ClusterPlan:
    """The plan for a cluster with ``cpus`` CPUs and ``gpus`` GPUs in all; raises ValueError without CPUs."""
    n_cpus, n_gpus = int(cpus), int(gpus)
    if n_cpus < 1:
        raise ValueError("the cluster has no CPUs to decode on")
    if n_gpus:
        actors, threads, batch = n_gpus, 1, GPU_BATCH_PATCHES
    else:
        actors = max(1, round(n_cpus / CPUS_PER_ACTOR))
        threads = max(1, math.ceil(n_cpus / actors * INFERENCE_SHARE))
        batch = CPU_BATCH_PATCHES
    # Tracks waiting for inference: two calls' worth per actor thread, at least one decode round.
    waiting = max(2 * actors * threads * max(1, batch // 8), n_cpus)
    return ClusterPlan(n_cpus, n_gpus, actors, threads, batch, PREFETCH * n_cpus, waiting)
