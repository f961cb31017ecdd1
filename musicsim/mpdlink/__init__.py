"""Feeding MPD (the Music Player Daemon) with musicsim's playlists (python-mpd2; no Qt, no torch).

  address   where MPD is: ``--to-mpd [PASSWORD@]HOST[:PORT]``, ``MPD_HOST``/``MPD_PORT`` as mpc reads them
  queue     a connection: MPD's music folder, library path -> MPD URI, loading a playlist into the queue
  radio     ``mpd-radio``: keeps MPD's queue topped up with a radio session's picks, skips steer it away
"""
