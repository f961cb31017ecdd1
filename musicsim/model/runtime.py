"""Which engine runs the network, decided without importing torch wherever the answer allows it.

* On a CPU: ONNX Runtime (:class:`musicsim.model.onnx_model.OnnxModel`), one engine per worker
  process; PyTorch only if ONNX Runtime is not installed.
* On a GPU (CUDA) or Apple MPS: PyTorch (:class:`musicsim.model.inference.LoadedModel`), batches
  across tracks in the parent process.

``auto`` needs torch only where a GPU is possible at all: an installed torch build with CUDA and an
NVIDIA device node (Linux), or Apple silicon. Elsewhere it is the CPU, known without torch, so
``musicsim status`` and the app's window can say where analysis will run before anything loads.
"""

from __future__ import annotations

import glob
import importlib.util
import logging
import os
import platform
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from musicsim.model.inference import LoadedModel
    from musicsim.model.onnx_model import OnnxModel

    AnalysisModel: TypeAlias = LoadedModel | OnnxModel

log = logging.getLogger(__name__)
TORCH_DEVICES = ("cuda", "mps")


def cores() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def cpu_name(engine: str) -> str:
    return f"CPU ({cores()} cores, {engine})"


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def _torch_gpu_build() -> bool | None:
    """Whether the installed torch was built for a GPU (CUDA or ROCm); None without torch.

    Reads ``torch/version.py`` as text (``cuda = '12.4'`` or ``cuda: Optional[str] = None``): no torch code runs.
    """
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    try:
        text = (Path(next(iter(spec.submodule_search_locations))) / "version.py").read_text()
    except OSError:
        return True  # unknown build: let torch tell
    return any(re.search(rf"^{name}(: Optional\[str\])? = '", text, re.M) for name in ("cuda", "hip"))


def accelerator_possible() -> bool:
    """Whether a GPU could be usable here (then only torch can tell); False means the CPU for sure."""
    gpu_build = _torch_gpu_build()
    if gpu_build is None:
        return False
    if sys.platform == "darwin":
        return platform.machine() == "arm64"  # Apple MPS (any torch build)
    if not gpu_build:
        return False
    if sys.platform.startswith("linux"):
        return bool(glob.glob("/dev/nvidia[0-9]*") or glob.glob("/dev/kfd")) or Path("/dev/dxg").exists()
    return True  # Windows: a CUDA build may find a GPU


def wants_torch(preference: str | None) -> bool:
    return bool(preference) and str(preference).split(":")[0] in TORCH_DEVICES


def planned_device(preference: str | None) -> str:
    """Where analysis will run, for people, without loading anything heavy."""
    if wants_torch(preference):
        return f"{str(preference).upper()} (checked when analysis starts)"
    engine = "ONNX Runtime" if onnxruntime_available() else "PyTorch"
    if preference == "cpu" or not accelerator_possible():
        return cpu_name(engine)
    return f"auto: a GPU if usable, else {cpu_name(engine)} (checked when analysis starts)"


def load_analysis_model(path: str | os.PathLike[str] | None, preference: str | None = None,
                        **kw: Any) -> AnalysisModel:
    """The model file's network on the best engine for ``preference`` ("auto"/None, "cpu", "cuda", "mps"...).

    Raises ModelNotFoundError/ModelFileError, or ValueError for a device that is not available.
    """
    device = None if preference in (None, "auto") else preference
    if device is None and accelerator_possible():
        from musicsim.model.device import pick_device

        picked = pick_device(None)
        device = picked.type if picked.type != "cpu" else "cpu"
    if wants_torch(device) or not onnxruntime_available():
        from musicsim.model.inference import load_model

        if not wants_torch(device):
            log.warning("onnxruntime is not installed: analysis runs on PyTorch (slower on a CPU)")
        return load_model(path, device=device)
    from musicsim.model.onnx_model import OnnxModel

    return OnnxModel.load(path, **kw)
