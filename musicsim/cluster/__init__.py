"""Analysis on a Ray cluster (``musicsim scan FOLDER --ray auto|HOST:PORT``): the optional extra ``cluster``.

Nothing here imports Ray at import time: :func:`ray_available` looks for it without importing it, and
:func:`cluster_runner` imports :mod:`musicsim.cluster.runner` (which imports Ray) only when a scan asks for
a cluster. How it works, what it costs: docs/cluster.md.
"""

from __future__ import annotations

import importlib.util
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from musicsim.cluster.runner import ClusterRunner

RAY_MISSING = ("Scanning on a Ray cluster needs Ray, which is not installed: "
               "pip install 'musicsim[cluster]' (or pip install ray), on this machine and on every node.")


class ClusterError(Exception):
    """The cluster cannot be used (not reachable, no CPUs, an engine that will not start); the message says why."""


def ray_available() -> bool:
    """Whether Ray is installed (found without importing it)."""
    try:
        return importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        return False


def cluster_runner(address: str, model_path: str | os.PathLike[str]) -> ClusterRunner:
    """The analysis runner for ``Library.analyse_pending(runner=...)`` on the cluster at ``address``
    (``auto``: the one this machine belongs to; ``HOST:PORT``: its head's GCS address).

    Raises :class:`ClusterError` with :data:`RAY_MISSING` when Ray is not installed.
    """
    if not ray_available():
        raise ClusterError(RAY_MISSING)
    from musicsim.cluster.runner import ClusterRunner

    return ClusterRunner(address, model_path)
