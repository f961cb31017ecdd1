"""Audio decoding."""
