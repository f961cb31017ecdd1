"""Playlist building, Qt-free: plain functions over embeddings and records (arrays in, records out).

  filters   the shared rules (never a seed, never a copy of one recording, caps, genre/duration/folder
            exclusions), :class:`~musicsim.playlists.filters.Pool` and
            :class:`~musicsim.playlists.filters.Selection`
  similar   the nearest tracks to one seed
  mix       a list near several seeds at once, each seed's neighbourhood represented, some steered away from
  journey   from A to B in exactly n songs, each a steady step towards B and close to the one before
  radio     an endless stream from seeds that drifts with what is listened to and away from skips

The :class:`~musicsim.library.library.Library` methods fetch candidates (the vector index, or the
folder scope's own embeddings) and call these functions.
"""
