"""One connection to MPD: where its music folder is, which songs it knows, and loading a playlist into its queue.

MPD names songs by their path inside its own music folder (a URI such as ``Artist/Album/01 Song.flac``);
musicsim's library has absolute paths. The music folder comes from ``--mpd-root DIR`` (the folder, as this
machine sees it), else from MPD itself (``config``, which MPD answers on a local socket only), else it is
found by asking MPD for the tail of a library path (``A/B/c.flac``, then ``B/c.flac``, ...): the longest one
MPD knows tells where its folder starts. A song MPD does not know (outside its folder, or not in its
database yet) is reported with the reason, never dropped in silence.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from musicsim.mpdlink.address import MpdAddress

log = logging.getLogger(__name__)

INSTALL_HINT = "python-mpd2 is not installed: pip install python-mpd2 (or reinstall musicsim)"


class MpdError(Exception):
    """A failure to talk to MPD, explained in words (connection refused, wrong password, ...)."""


@dataclass(frozen=True)
class Missing:
    path: str
    reason: str


@dataclass
class LoadReport:
    """What :meth:`MpdQueue.load` did: the URIs added, in order, and the songs MPD could not take."""

    added: list[str] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    replaced: bool = True


def mpd_module() -> Any:
    """python-mpd2's ``mpd`` module; MpdError with how to get it when it is not installed."""
    try:
        import mpd
    except ImportError as exc:
        raise MpdError(INSTALL_HINT) from exc
    return mpd


class MpdQueue:
    """A connection to the MPD at ``address`` (use as a context manager, or call :meth:`close`)."""

    def __init__(self, address: MpdAddress, root: str | None = None, timeout: float = 10.0) -> None:
        mpd = mpd_module()
        self.address = address
        self._root = os.path.abspath(os.path.expanduser(root)) if root else None
        self._known: dict[str, bool] = {}
        self.client = mpd.MPDClient()
        self.client.timeout = timeout
        try:
            self.client.connect(address.host, address.port)
        except (OSError, mpd.ConnectionError) as exc:
            raise MpdError(f"could not connect to MPD at {address}: {getattr(exc, 'strerror', None) or exc} "
                           "(is it running? `mpc status` asks the same MPD)") from exc
        if address.password:
            try:
                self.client.password(address.password)
            except mpd.CommandError as exc:
                self.close()
                raise MpdError(f"MPD at {address} refused the password: {exc}") from exc
        log.info("connected to MPD %s at %s", self.client.mpd_version, address)

    def close(self) -> None:
        try:
            self.client.disconnect()
        except OSError as exc:  # closing a broken connection: nothing left to do but say so
            log.debug("MPD disconnect: %s", exc)

    def __enter__(self) -> MpdQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- paths ------------------------------------------------------------------------------
    def music_root(self, paths: Sequence[str] = ()) -> str:
        """MPD's music folder as a local path (see the module docstring); raises MpdError when unknown."""
        if self._root is None:
            self._root = self._root_from_config() or self._root_from_paths(paths)
        if self._root is None:
            raise MpdError(f"cannot tell where the music folder of the MPD at {self.address} is on this "
                           "machine (MPD tells it on a local socket only, and knows none of these songs): "
                           "pass --mpd-root DIR")
        return self._root

    def _root_from_config(self) -> str | None:
        if not self.address.is_socket:
            return None
        try:
            folder = self.client.config()
        except mpd_module().CommandError as exc:
            log.info("MPD did not tell its music folder: %s", exc)
            return None
        folder = folder.get("music_directory") if isinstance(folder, dict) else folder
        if isinstance(folder, str) and os.path.isabs(folder):
            log.info("MPD's music folder (config): %s", folder)
            return os.path.normpath(folder)
        return None

    def _root_from_paths(self, paths: Sequence[str]) -> str | None:
        for path in paths[:5]:
            parts = PurePosixPath(os.path.abspath(path)).parts[1:]
            for i in range(len(parts)):  # the longest tail MPD knows
                if self.knows("/".join(parts[i:])):
                    root = "/" + "/".join(parts[:i])
                    log.info("MPD's music folder (found from %s): %s", path, root)
                    return root
        return None

    def uri_for(self, path: str, root: str) -> str | None:
        """``path``'s URI inside ``root`` (through symbolic links too), or None when it lies outside."""
        for p, r in ((os.path.abspath(path), root), (os.path.realpath(path), os.path.realpath(root))):
            rel = os.path.relpath(p, r)
            if rel != os.curdir and not rel.startswith(os.pardir + os.sep) and rel != os.pardir:
                return PurePosixPath(*rel.split(os.sep)).as_posix()
        return None

    def knows(self, uri: str) -> bool:
        """Whether MPD's database holds the song ``uri``."""
        if uri not in self._known:
            self._known[uri] = bool(self.client.find("file", uri))
        return self._known[uri]

    # -- the queue --------------------------------------------------------------------------
    def resolve(self, paths: Sequence[str]) -> tuple[list[tuple[str, str]], list[Missing]]:
        """``(path, uri)`` for the songs MPD knows, in order, and the others with the reason."""
        root = self.music_root(paths)
        found: list[tuple[str, str]] = []
        missing: list[Missing] = []
        for path in paths:
            uri = self.uri_for(path, root)
            if uri is None:
                missing.append(Missing(path, f"outside MPD's music folder ({root})"))
            elif not self.knows(uri):
                missing.append(Missing(path, "not in MPD's database (new since MPD's last update? `mpc update`)"))
            else:
                found.append((path, uri))
        return found, missing

    def load(self, paths: Sequence[str], append: bool = False, play: bool = True) -> LoadReport:
        """Put the songs at ``paths`` in MPD's queue: replacing it (and playing the first, unless not
        ``play``) or, with ``append``, after what is there. Songs MPD does not know are reported."""
        found, missing = self.resolve(paths)
        report = LoadReport(missing=missing, replaced=not append)
        if not found and not append:
            return report  # an empty result never clears the user's queue
        with self.command_list():
            if not append:
                self.client.clear()
            for _, uri in found:
                self.client.add(uri)
        report.added = [uri for _, uri in found]
        if not append and play:
            self.client.play(0)
        log.info("MPD queue %s: %d songs, %d not known to MPD", "extended" if append else "replaced",
                 len(report.added), len(missing))
        return report

    def add(self, uris: Sequence[str]) -> list[int]:
        """Append ``uris`` to the queue; their song ids in the queue."""
        return [int(self.client.addid(uri)) for uri in uris]

    @contextmanager
    def command_list(self) -> Iterator[None]:
        """The commands inside run as one MPD command list (one round trip; MPD applies them in order)."""
        self.client.command_list_ok_begin()
        try:
            yield
        finally:
            self.client.command_list_end()
