"""The two-stream residual CNN, its checkpoints and inference."""
