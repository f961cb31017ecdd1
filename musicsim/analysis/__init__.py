"""Turning audio files into track results: segment sampling and the analysis pipeline."""
