"""Choosing where the network runs: CUDA, then Apple MPS, else CPU."""

from __future__ import annotations

import torch


def pick_device(preference: str | None = None) -> torch.device:
    """``preference`` ("cuda", "mps", "cpu", "cuda:1"...) wins when available; "auto"/None picks the best."""
    if preference and preference != "auto":
        device = torch.device(preference)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("CUDA was requested but no CUDA GPU is available.")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError("Apple MPS was requested but is not available.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe_device(device: torch.device) -> str:
    """A short human name: "CPU (2 threads)", "CUDA: NVIDIA H100", "Apple MPS"."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"
