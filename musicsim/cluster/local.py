"""A throwaway Ray cluster on this machine: a head node and worker nodes, each a ``ray start --block``
process group with one CPU and a small object store (tests/test_cluster.py, benchmarks/bench_cluster.py).

Stopping it ends exactly the processes its nodes started (their process groups, then anything still
naming its temp folder), never other Ray instances on the machine.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import ray

RAY = str(Path(sys.executable).with_name("ray"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(pid: int) -> list[int]:
    """Every living process below ``pid``."""
    tree, found, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _using(folder: str) -> list[int]:
    """Processes whose command line names ``folder``."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                if folder.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    pids.append(int(entry))
            except OSError:
                continue
    return pids


class LocalCluster:
    """Nodes on this machine; ``address`` is the head's GCS address for ``ray.init`` / ``--ray``."""

    def __init__(self, cpus_per_node: int = 1, object_store_bytes: int = 200_000_000) -> None:
        self.temp = tempfile.mkdtemp(prefix="msray-", dir="/tmp")  # short: Ray's socket paths live in it
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.options = [f"--num-cpus={cpus_per_node}", f"--object-store-memory={object_store_bytes}",
                        "--disable-usage-stats", "--node-ip-address=127.0.0.1", "--block"]
        self.nodes: list[subprocess.Popen[bytes]] = []
        self.logs: list[IO[bytes]] = []

    def _start(self, args: list[str]) -> subprocess.Popen[bytes]:
        log = open(Path(self.temp) / f"node{len(self.nodes)}.log", "wb")  # closed in stop()
        self.logs.append(log)
        proc = subprocess.Popen([RAY, "start", *args, *self.options, f"--temp-dir={self.temp}"], stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.nodes.append(proc)
        return proc

    def start(self, nodes: int = 2) -> LocalCluster:
        self._start(["--head", f"--port={self.port}", "--include-dashboard=false"])
        for _ in range(nodes - 1):
            self.add_node()
        if nodes == 1:
            self.wait_for(1)
        return self

    def add_node(self) -> subprocess.Popen[bytes]:
        proc = self._start([f"--address={self.address}"])
        self.wait_for(len([p for p in self.nodes if p.poll() is None]))
        return proc

    def alive_nodes(self) -> int:
        ray.init(address=self.address, logging_level=logging.ERROR, log_to_driver=False)
        try:
            return sum(bool(n["Alive"]) for n in ray.nodes())
        finally:
            ray.shutdown()

    def wait_for(self, n: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.alive_nodes() == n:
                    return
            except (ConnectionError, RuntimeError):
                pass
            if time.monotonic() > deadline:
                for log in self.logs:
                    log.flush()
                logs = "\n".join(Path(str(f.name)).read_text(errors="replace")[-2000:] for f in self.logs)
                raise RuntimeError(f"the local Ray cluster did not reach {n} nodes:\n{logs}")
            time.sleep(1.0)

    def raylet(self, node: subprocess.Popen[bytes]) -> int:
        """The pid of ``node``'s raylet."""
        pids = [p for p in descendants(node.pid) if process_name(p) == "raylet"]
        if len(pids) != 1:
            raise RuntimeError(f"expected one raylet under node {node.pid}, found {pids}")
        return pids[0]

    def stop(self) -> None:
        """Stop every node and whatever they started; raises if a process survives."""
        for proc in self.nodes:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        for proc in self.nodes:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.nodes:  # the groups' leftovers (raylets and the GCS ignore SIGTERM for a while)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        for _ in range(50):  # anything that left the groups but still uses this cluster's folder
            left = _using(self.temp)
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        for log in self.logs:
            log.close()
        if _using(self.temp):
            raise RuntimeError("Ray processes outlived the local cluster")
        shutil.rmtree(self.temp, ignore_errors=True)
