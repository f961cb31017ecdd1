"""Where MPD listens, read the way mpc (libmpdclient) reads it.

``[PASSWORD@]HOST[:PORT]`` where HOST is a name, an IPv4 address, ``[IPv6]``, a socket path (``/run/mpd/socket``)
or an abstract socket (``@mpd``); ``MPD_HOST`` takes the same forms (its port comes from ``MPD_PORT``).
With neither: the user's or the system's MPD socket when there is one, else ``localhost:6600``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PORT = 6600
DEFAULT_SOCKETS = ("{runtime}/mpd/socket", "/run/mpd/socket")


@dataclass(frozen=True)
class MpdAddress:
    host: str  # a host name or address, a socket path, or "@name" (an abstract socket)
    port: int = DEFAULT_PORT
    password: str | None = None

    @property
    def is_socket(self) -> bool:
        """A local socket: MPD then tells its music folder (``config``) and takes ``file://`` URIs."""
        return self.host.startswith(("/", "@"))

    def __str__(self) -> str:
        if self.is_socket:
            return self.host
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_address(text: str, default_port: int = DEFAULT_PORT) -> MpdAddress:
    """``[PASSWORD@]HOST[:PORT]`` (see the module docstring); raises ValueError on a bad port."""
    password = None
    if not text.startswith("@") and "@" in text:
        password, text = text.split("@", 1)
    elif text.startswith("@@"):  # "@@name": an empty password, then an abstract socket (libmpdclient)
        text = text[1:]
    if text.startswith(("/", "@")):
        return MpdAddress(text, default_port, password or None)
    port = default_port
    if text.startswith("["):  # [IPv6] or [IPv6]:port
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            port = _port(rest[1:])
    elif text.count(":") == 1:
        host, _, p = text.partition(":")
        port = _port(p)
    else:  # a bare name, or a bare IPv6 address
        host = text
    return MpdAddress(host or "localhost", port, password or None)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"'{text}' is not a port number (1-65535)")
    return int(text)


def resolve_address(option: str | None, env: Mapping[str, str] | None = None) -> MpdAddress:
    """The address to use: ``--to-mpd``'s value, else ``MPD_HOST``/``MPD_PORT``, else the defaults."""
    env = os.environ if env is None else env
    default_port = _port(env["MPD_PORT"]) if env.get("MPD_PORT") else DEFAULT_PORT
    if option:
        return parse_address(option, default_port)
    if env.get("MPD_HOST"):
        return parse_address(env["MPD_HOST"], default_port)
    runtime = env.get("XDG_RUNTIME_DIR")
    for pattern in DEFAULT_SOCKETS:
        if "{runtime}" in pattern and not runtime:
            continue
        path = pattern.format(runtime=runtime)
        if os.path.exists(path):
            return MpdAddress(path, default_port)
    return MpdAddress("localhost", default_port)
