"""Objects exported on the D-Bus session bus, served on the Qt thread (jeepney for the wire protocol).

jeepney (pure Python) builds and parses the messages with their exact D-Bus types (QtDBus from Python
cannot send a 64-bit integer inside an ``a{sv}``, which MPRIS's ``mpris:length`` is); a
``QSocketNotifier`` on the bus connection hands incoming calls to the Qt event loop, so every call runs
on the GUI thread, like a button press. :class:`DBusService` answers ``Introspect``, the ``Properties``
interface (``Get``, ``GetAll``, ``Set``, and ``PropertiesChanged`` on request) and ``Peer.Ping`` for the
:class:`Interface` descriptions it exports. No session bus (a bare console, a container) is not an
error: :meth:`DBusService.open` logs it and returns None.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import quoteattr

from PySide6.QtCore import QObject, QSocketNotifier, Slot

log = logging.getLogger(__name__)

PROPERTIES = "org.freedesktop.DBus.Properties"
INTROSPECTABLE = "org.freedesktop.DBus.Introspectable"
PEER = "org.freedesktop.DBus.Peer"
NAME_PRIMARY_OWNER = 1
FLAG_DO_NOT_QUEUE = 4


class DBusCallError(Exception):
    """Raised by a method to answer the caller with a D-Bus error ``name`` and a message."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


@dataclass(frozen=True)
class Prop:
    name: str
    signature: str
    get: Callable[[], Any]
    set: Callable[[Any], None] | None = None


@dataclass(frozen=True)
class Method:
    name: str
    call: Callable[..., Any]
    in_signature: str = ""
    out_signature: str = ""
    arg_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Interface:
    name: str
    methods: Sequence[Method] = ()
    properties: Sequence[Prop] = ()
    signals: Sequence[tuple[str, str]] = ()  # (name, signature)
    _by_method: dict[str, Method] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_method.update({m.name: m for m in self.methods})

    def method(self, name: str) -> Method | None:
        return self._by_method.get(name)

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.properties if p.name == name), None)


class DBusService(QObject):
    """A session-bus connection that owns one well-known name and serves exported objects."""

    def __init__(self, connection: Any, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.connection = connection
        self.name = name
        self._objects: dict[str, dict[str, Interface]] = {}
        self._notifier = QSocketNotifier(connection.sock.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._read)

    @classmethod
    def open(cls, names: Sequence[str], parent: QObject | None = None) -> DBusService | None:
        """Connect to the session bus and own the first of ``names`` nobody owns; None when impossible."""
        address = session_bus_address()
        if address is None:
            log.info("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS unset): media keys are not available")
            return None
        try:
            from jeepney import DBus
            from jeepney.io.blocking import Proxy, open_dbus_connection

            connection = open_dbus_connection(bus=address)
            bus = Proxy(DBus(), connection, timeout=5)
            for name in names:
                (code,) = bus.RequestName(name, FLAG_DO_NOT_QUEUE)
                if code == NAME_PRIMARY_OWNER:
                    log.info("D-Bus: serving %s as %s", name, connection.unique_name)
                    return cls(connection, name, parent)
            log.warning("D-Bus: every name is taken (%s)", ", ".join(names))
            connection.close()
        except ImportError as exc:
            log.warning("D-Bus: %s (jeepney is missing: pip install jeepney); media keys are not available", exc)
        except (OSError, KeyError, ValueError, TimeoutError) as exc:
            log.info("D-Bus session bus not reachable (%s): media keys are not available", exc)
        except Exception as exc:  # jeepney's DBusErrorResponse and the like: no bus, no media keys
            log.warning("D-Bus: could not register %s: %s", names[0] if names else "", exc, exc_info=True)
        return None

    def export(self, path: str, interfaces: Sequence[Interface]) -> None:
        self._objects[path] = {i.name: i for i in interfaces}

    def close(self) -> None:
        self._notifier.setEnabled(False)
        try:
            self.connection.close()
        except OSError as exc:
            log.debug("D-Bus close: %s", exc)

    # -- signals ----------------------------------------------------------------------------
    def send_signal(self, path: str, interface: str, member: str, signature: str, body: tuple[Any, ...]) -> None:
        from jeepney import DBusAddress, new_signal

        self._send(new_signal(DBusAddress(path, interface=interface), member, signature, body))

    def properties_changed(self, path: str, interface: str, names: Sequence[str]) -> None:
        """Send ``PropertiesChanged`` with the current values of ``names``."""
        iface = self._objects[path][interface]
        changed = {}
        for name in names:
            prop = iface.prop(name)
            if prop is not None:
                changed[name] = (prop.signature, prop.get())
        if changed:
            self.send_signal(path, PROPERTIES, "PropertiesChanged", "sa{sv}as", (interface, changed, []))

    def _send(self, message: Any) -> None:
        try:
            self.connection.send(message)
        except OSError as exc:
            log.warning("D-Bus: the bus connection failed (%s); media keys stop working", exc)
            self._notifier.setEnabled(False)

    # -- incoming calls ---------------------------------------------------------------------
    @Slot()
    def _read(self) -> None:
        while True:
            try:
                message = self.connection.receive(timeout=0)
            except TimeoutError:
                return
            except (OSError, ValueError) as exc:
                log.warning("D-Bus: lost the session bus (%s); media keys stop working", exc)
                self._notifier.setEnabled(False)
                return
            self._dispatch(message)

    def _dispatch(self, message: Any) -> None:
        from jeepney import HeaderFields, MessageFlag, MessageType, new_error, new_method_return

        header = message.header
        if header.message_type != MessageType.method_call:
            return
        fields = header.fields
        path = fields.get(HeaderFields.path)
        interface = fields.get(HeaderFields.interface)
        member = fields.get(HeaderFields.member)
        try:
            signature, body = self._call(path, interface, member, tuple(message.body))
            reply = new_method_return(message, signature or None, body)
        except DBusCallError as exc:
            reply = new_error(message, exc.name, "s", (str(exc),))
        except Exception as exc:  # a failing handler answers the caller with an error, logged here
            log.warning("D-Bus: %s.%s failed", interface, member, exc_info=True)
            reply = new_error(message, "org.freedesktop.DBus.Error.Failed", "s", (f"{type(exc).__name__}: {exc}",))
        if not header.flags & MessageFlag.no_reply_expected:
            self._send(reply)

    def _call(self, path: str | None, interface: str | None, member: str | None,
              args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        objects = self._objects.get(path or "")
        if objects is None:
            if member == "Introspect":
                return "s", (self.introspect(path or "/"),)
            raise DBusCallError("org.freedesktop.DBus.Error.UnknownObject", f"no object at {path}")
        if interface == INTROSPECTABLE or (interface is None and member == "Introspect"):
            return "s", (self.introspect(path or "/"),)
        if interface == PEER:
            if member == "Ping":
                return "", ()
            raise DBusCallError("org.freedesktop.DBus.Error.UnknownMethod", f"no method {member}")
        if interface == PROPERTIES:
            return self._properties(objects, member, args)
        candidates = [objects[interface]] if interface in objects else [] if interface else list(objects.values())
        for iface in candidates:
            method = iface.method(member or "")
            if method is not None:
                result = method.call(*args)
                if not method.out_signature:
                    return "", ()
                return method.out_signature, result if isinstance(result, tuple) else (result,)
        raise DBusCallError("org.freedesktop.DBus.Error.UnknownMethod", f"no method {interface}.{member}")

    def _properties(self, objects: dict[str, Interface], member: str | None,
                    args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
        iface = objects.get(args[0]) if args else None
        if member == "GetAll":
            values = {p.name: (p.signature, p.get()) for p in iface.properties} if iface else {}
            return "a{sv}", (values,)
        prop = iface.prop(args[1]) if iface and len(args) > 1 else None
        if prop is None:
            raise DBusCallError("org.freedesktop.DBus.Error.UnknownProperty",
                                f"no property {args[1] if len(args) > 1 else '?'}")
        if member == "Get":
            return "v", ((prop.signature, prop.get()),)
        if member == "Set":
            if prop.set is None:
                raise DBusCallError("org.freedesktop.DBus.Error.PropertyReadOnly", f"{prop.name} is read-only")
            prop.set(args[2][1])
            return "", ()
        raise DBusCallError("org.freedesktop.DBus.Error.UnknownMethod", f"no method {PROPERTIES}.{member}")

    def introspect(self, path: str) -> str:
        """The introspection XML of ``path`` (its interfaces, and the child nodes on the way to others)."""
        lines = ['<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"',
                 ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">', "<node>"]
        for iface in self._objects.get(path, {}).values():
            lines.append(f"  <interface name={quoteattr(iface.name)}>")
            for m in iface.methods:
                lines.append(f"    <method name={quoteattr(m.name)}>")
                for i, sig in enumerate(_split_signature(m.in_signature)):
                    name = m.arg_names[i] if i < len(m.arg_names) else f"arg{i}"
                    lines.append(f'      <arg name={quoteattr(name)} type={quoteattr(sig)} direction="in"/>')
                for sig in _split_signature(m.out_signature):
                    lines.append(f'      <arg type={quoteattr(sig)} direction="out"/>')
                lines.append("    </method>")
            for name, signature in iface.signals:
                lines.append(f"    <signal name={quoteattr(name)}>")
                for sig in _split_signature(signature):
                    lines.append(f"      <arg type={quoteattr(sig)}/>")
                lines.append("    </signal>")
            for p in iface.properties:
                access = "readwrite" if p.set else "read"
                lines.append(f"    <property name={quoteattr(p.name)} type={quoteattr(p.signature)} "
                             f"access={quoteattr(access)}/>")
            lines.append("  </interface>")
        prefix = path.rstrip("/") + "/"
        children = sorted({p[len(prefix):].split("/")[0] for p in self._objects if p.startswith(prefix) and p != path})
        lines += [f"  <node name={quoteattr(c)}/>" for c in children]
        lines.append("</node>")
        return "\n".join(lines)


def session_bus_address() -> str | None:
    """``DBUS_SESSION_BUS_ADDRESS``, else the systemd user bus socket (``$XDG_RUNTIME_DIR/bus``) when there is one."""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    if address:
        return address
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.exists(os.path.join(runtime, "bus")):
        return f"unix:path={os.path.join(runtime, 'bus')}"
    return None


def _split_signature(signature: str) -> list[str]:
    """``"sa{sv}x"`` -> ``["s", "a{sv}", "x"]`` (complete types)."""
    out, i = [], 0
    while i < len(signature):
        j = _end_of_type(signature, i)
        out.append(signature[i:j])
        i = j
    return out


def _end_of_type(signature: str, i: int) -> int:
    c = signature[i]
    if c == "a":
        return _end_of_type(signature, i + 1)
    if c in "({":
        close = ")" if c == "(" else "}"
        depth, j = 0, i
        while True:
            if signature[j] in "({":
                depth += 1
            elif signature[j] in ")}":
                depth -= 1
                if depth == 0 and signature[j] == close:
                    return j + 1
            j += 1
    return i + 1
