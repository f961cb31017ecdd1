"""musicsim: recommend music from your own library by how it sounds."""

__version__ = "0.1.0"
