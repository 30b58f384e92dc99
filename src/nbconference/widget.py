"""``ConferenceWidget``: the video call in a notebook cell.

The browser does the call (signaling, WebRTC, media); the kernel sees it through synced
traits and steers it by setting ``camera``/``microphone`` or calling :meth:`leave`.
"""

from __future__ import annotations

import getpass
import os
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import anywidget
import traitlets

from .protocol import MAX_NAME_CHARS, valid_room
from .stats_history import DEFAULT_METRICS, StatsHistory

STATIC = Path(__file__).parent / "static"
STATUSES = ("connecting", "joined", "reconnecting", "left", "error")

PeerCallback = Callable[[dict[str, Any]], object]
StatsCallback = Callable[[dict[str, dict[str, Any]]], object]
Remover = Callable[[], None]


def default_name() -> str:
    """The user's name as the environment knows it (JupyterHub first), else ``"guest"``."""
    for key in ("JUPYTERHUB_USER", "USER", "LOGNAME", "USERNAME"):
        value = os.environ.get(key, "").strip()
        if value:
            return value[:MAX_NAME_CHARS]
    try:
        return getpass.getuser()[:MAX_NAME_CHARS] or "guest"
    except Exception:
        return "guest"


class ConferenceWidget(anywidget.AnyWidget):  # type: ignore[misc]
    """A video call with everyone who shows a widget for the same ``room``.

    Display it (last expression of a cell) to join: the browser asks for the camera and
    microphone and connects to the signaling server of this Jupyter server (or to
    ``signaling_url``). The same widget shown in two cells joins once. Creating another
    widget for the same room in this kernel closes this one, so re-running a cell does
    not leave a ghost behind.

    >>> w = ConferenceWidget(room="lab", name="Ada")  # doctest: +SKIP
    >>> w.camera = False  # doctest: +SKIP
    >>> w.on_peer_joined(lambda peer: print(peer["name"], "joined"))  # doctest: +SKIP
    """

    _esm = STATIC / "widget.js"
    _css = STATIC / "widget.css"

    # -- set from Python --------------------------------------------------------------
    room = traitlets.Unicode("lab", help="Room name: 1-64 of A-Z a-z 0-9 . _ -").tag(sync=True)
    name = traitlets.Unicode(help="The name others see.").tag(sync=True)
    camera = traitlets.Bool(True, help="Camera on (two-way: the browser's button too).").tag(
        sync=True
    )
    microphone = traitlets.Bool(True, help="Microphone on (two-way).").tag(sync=True)
    signaling_url = traitlets.Unicode(
        "", help="WebSocket URL of `nbconference serve`; '' uses this page's Jupyter server."
    ).tag(sync=True)
    token = traitlets.Unicode(
        "", help="Token for signaling_url; '' uses the page's Jupyter token."
    ).tag(sync=True)
    stats_interval = traitlets.Float(1.0, help="Seconds between `stats` updates.").tag(sync=True)
    instance_id = traitlets.Unicode(read_only=True).tag(sync=True)

    # -- written by the browser -------------------------------------------------------
    peer_id = traitlets.Unicode("", read_only=True).tag(sync=True)
    status = traitlets.Unicode("connecting", read_only=True).tag(sync=True)
    error = traitlets.Unicode("", read_only=True).tag(sync=True)
    media_error = traitlets.Unicode("", read_only=True).tag(sync=True)
    peers = traitlets.List(traitlets.Dict(), read_only=True).tag(sync=True)
    sharing_screen = traitlets.Bool(False, read_only=True).tag(sync=True)
    # Written every stats_interval: no echo back to the browser, which sent it.
    stats = traitlets.Dict(read_only=True).tag(sync=True, echo_update=False)

    _live: ClassVar[dict[tuple[str, str], weakref.ref[ConferenceWidget]]] = {}

    def __init__(self, room: str = "lab", stats_history: int = 3600, **kwargs: Any) -> None:
        kwargs.setdefault("name", default_name())
        self._stats_history = StatsHistory(stats_history)
        self._names_seen: dict[str, str] = {}  # peer id -> name, kept after they leave
        self._peer_joined: list[PeerCallback] = []
        self._peer_left: list[PeerCallback] = []
        self._stats_callbacks: list[StatsCallback] = []
        super().__init__(room=room, **kwargs)
        self.observe(self._peers_changed, names="peers")
        self.observe(self._stats_changed, names="stats")
        self.observe(self._claim_room, names=["room", "signaling_url"])
        self._claim_room()

    @traitlets.default("instance_id")
    def _new_instance_id(self) -> str:
        # Generated before the comm opens, so the browser's first state already has it.
        return uuid.uuid4().hex

    # -- validation -------------------------------------------------------------------

    @traitlets.validate("room")
    def _valid_room(self, proposal: dict[str, Any]) -> str:
        room = proposal["value"]
        if not valid_room(room):
            raise traitlets.TraitError(
                f"room {room!r} must be 1-64 characters of letters, digits, '.', '_' or '-'"
            )
        return str(room)

    @traitlets.validate("name")
    def _valid_name(self, proposal: dict[str, Any]) -> str:
        name = str(proposal["value"]).strip()
        if len(name) > MAX_NAME_CHARS:
            raise traitlets.TraitError(f"name must be at most {MAX_NAME_CHARS} characters")
        return name or "guest"

    @traitlets.validate("stats_interval")
    def _valid_interval(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if not 0.2 <= value <= 3600:
            raise traitlets.TraitError("stats_interval must be between 0.2 and 3600 seconds")
        return value

    @traitlets.validate("status")
    def _valid_status(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in STATUSES:
            raise traitlets.TraitError(f"status must be one of {', '.join(STATUSES)}")
        return str(proposal["value"])

    # -- one widget per room in this kernel ---------------------------------------------

    def _claim_room(self, change: object = None) -> None:
        live = type(self)._live
        for key, ref in list(live.items()):
            if ref() is self or ref() is None:
                del live[key]
        key = (self.signaling_url, self.room)
        older = live.get(key)
        previous = older() if older is not None else None
        live[key] = weakref.ref(self)
        if previous is not None and previous is not self:
            previous.close()

    # -- callbacks --------------------------------------------------------------------

    # Like every on_* of nbconference (KernelPeer's too), each returns a function that
    # removes the callback; ``remove=True`` is the older way to do the same.

    def on_peer_joined(self, callback: PeerCallback, remove: bool = False) -> Remover:
        """Call ``callback(peer)`` when a peer appears in ``peers`` (also those already
        in the room when we join). ``peer`` is a dict: id, name, camera, microphone,
        screen, connection. Returns a function that removes the callback."""
        return _register(self._peer_joined, callback, remove)

    def on_peer_left(self, callback: PeerCallback, remove: bool = False) -> Remover:
        """Call ``callback(peer)`` when a peer leaves ``peers`` (also when we leave).
        Returns a function that removes the callback."""
        return _register(self._peer_left, callback, remove)

    def on_stats(self, callback: StatsCallback, remove: bool = False) -> Remover:
        """Call ``callback(stats)`` on every ``stats`` update (peer id -> record).
        Returns a function that removes the callback."""
        return _register(self._stats_callbacks, callback, remove)

    def _peers_changed(self, change: dict[str, Any]) -> None:
        old = {p.get("id"): p for p in change["old"] or []}
        new = {p.get("id"): p for p in change["new"] or []}
        for peer_id, peer in new.items():
            self._names_seen[str(peer_id)] = str(peer.get("name", ""))
            if peer_id not in old:
                for callback in list(self._peer_joined):
                    callback(peer)
        for peer_id, peer in old.items():
            if peer_id not in new:
                for callback in list(self._peer_left):
                    callback(peer)

    def _stats_changed(self, change: dict[str, Any]) -> None:
        self._stats_history.add(change["new"])
        for callback in list(self._stats_callbacks):
            callback(change["new"])

    # -- statistics history -----------------------------------------------------------

    def stats_frame(self) -> Any:
        """Every ``stats`` sample kept so far (the last ``stats_history``, default 3600)
        as a pandas DataFrame indexed by time, one row per remote peer and sample, with
        a ``name`` column. Needs pandas (``pip install 'nbconference[stats]'``)."""
        table = self._stats_history.frame()
        table["name"] = table["peer_id"].map(self._names_seen)
        return table

    def plot_stats(self, metrics: tuple[str, ...] = DEFAULT_METRICS) -> Any:
        """Plot ``metrics`` over time, one line per remote peer; returns the matplotlib
        figure. Needs matplotlib (``pip install 'nbconference[stats]'``)."""
        return self._stats_history.plot(metrics, names=self._names_seen)

    # -- commands ---------------------------------------------------------------------

    def leave(self) -> None:
        """Hang up: the browser leaves the room, stops the camera and microphone."""
        self.send({"command": "leave"})

    def join(self) -> None:
        """Join again after :meth:`leave` (or after an error such as a full room)."""
        self.send({"command": "join"})

    def close(self) -> None:
        """Leave the call and close the widget for good."""
        if self.comm is not None:
            self.leave()
        live = type(self)._live
        for key, ref in list(live.items()):
            if ref() is self:
                del live[key]
        super().close()

    def __repr__(self) -> str:
        return (
            f"<ConferenceWidget room={self.room!r} name={self.name!r} status={self.status!r} "
            f"peers={len(self.peers)}>"
        )


def _register(callbacks: list[Any], callback: Any, remove: bool) -> Remover:
    """Add ``callback`` once (or, with ``remove``, take it out); returns its remover."""

    def remover() -> None:
        if callback in callbacks:
            callbacks.remove(callback)

    if remove:
        remover()
    elif callback not in callbacks:
        callbacks.append(callback)
    return remover
