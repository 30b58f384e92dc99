"""``ConferenceWidget``: the video call in a notebook cell.

The browser does the call (signaling, WebRTC, media). Every browser that shows the widget
is a participant of its own, a *viewer*: a collaborator in a shared notebook, a second
tab. Each viewer reports what it sees by message, and the kernel merges the reports into
the widget's traits, of which it is the only writer (see :mod:`nbconference.viewers`).
The kernel steers the call by message too: ``camera``/``microphone`` and :meth:`leave`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any, ClassVar

import anywidget
import traitlets

from .chat_log import ChatRecords, chat_record, hand_queue
from .client.discovery import resolve_signaling
from .client.hosting import HostControls, HostRequests, HostSocket
from .client.plan import SignalingPlan, plan_signaling
from .diagnostics import diagnosis_record
from .identity import default_name
from .notebook_room import notebook_path, notebook_room, widget_room
from .protocol import MAX_NAME_CHARS, FromKernel, SignalingMode, ToKernel, valid_room
from .stats_history import DEFAULT_METRICS, StatsHistory
from .viewers import STATUS_RANK, Viewers

STATIC = Path(__file__).parent / "static"
STATUSES = ("idle", *STATUS_RANK)
# A viewer that has not reported for this long is gone (its tab closed without a word);
# browsers repeat their report every 2 s (HEARTBEAT_MS in js/bridge.js).
VIEWER_TIMEOUT = 6.0
# How long a host's request may take: opening the kernel's socket, and the answer.
HOST_TIMEOUT = 10.0

PeerCallback = Callable[[dict[str, Any]], object]
StatsCallback = Callable[[dict[str, dict[str, Any]]], object]
ChatCallback = Callable[[dict[str, Any]], object]
Remover = Callable[[], None]


class ConferenceWidget(anywidget.AnyWidget, HostControls):  # type: ignore[misc]
    """A video call with everyone who shows a widget for the same ``room``.

    Display it (last expression of a cell) to join: the browser asks for the camera and
    microphone and connects to the signaling server of this Jupyter server (or to
    ``signaling_url``). Nothing happens in a browser that does not show it. Without
    ``room``, the call is the notebook's own: everyone with this notebook open meets there.

    Every browser that shows the widget takes part as its own person: in a notebook
    shared with jupyter-collaboration, each collaborator who sees the output is in the
    call as themselves. ``viewers`` lists them and ``peers`` everyone else. With one
    viewer, ``peer_id``, ``status`` and the two-way ``camera``/``microphone`` are that
    viewer's; with several, ``peer_id`` is "" and ``camera``/``microphone`` are the
    notebook's request to all of them. Code may turn a viewer's device off; it turns one
    on only where code turned it off, and otherwise asks the person. ``receive_video =
    False`` is "video off for me" in every viewer: the others stop sending them video,
    and they still hear everyone; each viewer's own button does the same for itself.

    Creating another widget for the same room in this kernel closes this one, so
    re-running a cell does not leave a ghost behind.

    A host's powers are coroutines that go over a signaling socket of this kernel's own
    (not through a browser): ``await w.mute(peer_id)``, :meth:`remove`, :meth:`end_call`,
    :meth:`make_host`, the lobby's :meth:`lock`, :meth:`unlock`, :meth:`admit` and
    :meth:`deny`, and :meth:`breakout` and :meth:`end_breakout`; ``hosts`` lists the
    room's hosts, ``lobby`` who waits to be let in, ``breakouts`` the groups of a breakout.
    The socket shows the token of the server this kernel runs on (or ``token`` with
    ``signaling_url``): in the Jupyter extension the server's owner may act as a host of
    every room no ``room_access`` rule names hosts for, so whoever runs code in this
    kernel may. Anyone else gets :class:`~nbconference.NotHost`.

    >>> w = ConferenceWidget(room="lab", name="Ada")  # doctest: +SKIP
    >>> w.camera = False  # doctest: +SKIP
    >>> w.on_peer_joined(lambda peer: print(peer["name"], "joined"))  # doctest: +SKIP
    >>> await w.mute(w.peers[0]["id"])  # doctest: +SKIP
    """

    _esm = STATIC / "widget.js"
    _css = STATIC / "widget.css"

    # -- set from Python --------------------------------------------------------------
    room = traitlets.Unicode(help="Room name: 1-64 of A-Z a-z 0-9 . _ -").tag(sync=True)
    name = traitlets.Unicode(
        help="A label for this browser's person where the server knows no identity."
    ).tag(sync=True)
    camera = traitlets.Bool(True, help="Camera on (two-way with one viewer).").tag(sync=True)
    microphone = traitlets.Bool(True, help="Microphone on (two-way with one viewer).").tag(
        sync=True
    )
    receive_video = traitlets.Bool(
        True,
        help="The others' video (False: audio only, and they stop sending us video). "
        "Setting it applies to every viewer; with one viewer it follows that viewer's button.",
    ).tag(sync=True)
    prejoin = traitlets.Bool(
        True,
        help="Show each person a pre-join panel (camera preview, microphone level, device "
        "pickers; Join, Join with camera off, Join muted) before their first join of the day "
        "in their browser. False joins at once, with camera and microphone as set here.",
    ).tag(sync=True)
    # Kernel-side only: a request to every viewer, sent by message like `camera`.
    camera_device = traitlets.Unicode(
        "",
        help="Ask every viewer to use the camera of this label or id (a unique part of the "
        "label will do). Like `camera`, it shows nothing new without the person's yes: with "
        "their camera on they are asked; with it off it is chosen for when it comes on.",
    )
    signaling_url = traitlets.Unicode(
        "", help="WebSocket URL of `nbconference serve`; '' uses this page's Jupyter server."
    ).tag(sync=True)
    # Not synced: a token must not land in the notebook's saved widget state. The browsers
    # get it by message, when they ask.
    token = traitlets.Unicode("", help="Token for signaling_url.")
    stats_interval = traitlets.Float(1.0, help="Seconds between `stats` updates.").tag(sync=True)
    instance_id = traitlets.Unicode(read_only=True, help="This widget's own id (random).").tag(
        sync=True
    )
    room_label = traitlets.Unicode(
        "", read_only=True, help="The call as the status line names it."
    ).tag(sync=True)
    created_at = traitlets.Float(
        read_only=True,
        help="When the kernel made the widget (seconds since 1970): the first step of `timeline`.",
    ).tag(sync=True)

    # -- written by the kernel from the viewers' reports --------------------------------
    peer_id = traitlets.Unicode(
        "", read_only=True, help="The viewer's peer id when one browser views the widget, else ''."
    ).tag(sync=True)
    status = traitlets.Unicode(
        "idle",
        read_only=True,
        help="The viewers' best status: idle, connecting, waiting (in the lobby of a locked "
        "room, until a host lets them in), joined, reconnecting, left, error.",
    ).tag(sync=True)
    error = traitlets.Unicode(
        "",
        read_only=True,
        help="Why the call stopped or what just went wrong, as the leading viewer says.",
    ).tag(sync=True)
    media_error = traitlets.Unicode(
        "",
        read_only=True,
        help="Why the one viewer sends no camera or sound (receive-only), '' when it does.",
    ).tag(sync=True)
    # Kernel-side only, like stats: the browsers know the room themselves, and these two
    # change at every step of every join, each change a message to every front end.
    viewers = traitlets.List(
        traitlets.Dict(),
        read_only=True,
        help="The browsers showing this widget, one record each: a peer's fields, status, "
        "error. Kernel-side only.",
    )
    peers = traitlets.List(
        traitlets.Dict(),
        read_only=True,
        help="Everyone else in the room, once each: id, name, identity, devices, connection. "
        "Kernel-side only.",
    )
    sharing_screen = traitlets.Bool(False, read_only=True, help="A viewer shares its screen.").tag(
        sync=True
    )
    recording = traitlets.Bool(
        False,
        read_only=True,
        help="A recorder (nbconference.Recorder, kind 'recorder') is in the room: the call "
        "is being recorded. Every viewer shows a red banner naming who started it.",
    ).tag(sync=True)
    media = traitlets.Unicode(
        "",
        read_only=True,
        help="The plane that carries the call: 'mesh' (peer to peer), 'sfu' (through the "
        "server's Janus, once the room grew past mesh_max_peers) or '' before joining.",
    ).tag(sync=True)
    devices = traitlets.List(
        traitlets.Dict(),
        read_only=True,
        help="Each viewer's devices: id, name, in_use (kind and label of the camera, "
        "microphone and speaker it uses) and counts (how many of each kind it has). The "
        "viewers' full device lists never come to the kernel. Kernel-side only: the "
        "browsers do not hear each other's devices.",
    )
    # Kernel-side only: the browsers measure it and have no use for it back.
    stats = traitlets.Dict(
        read_only=True,
        help="Each link's latest measurements, by peer id (viewer/peer with several viewers).",
    )
    diagnostics = traitlets.List(
        traitlets.Dict(),
        read_only=True,
        help="Each viewer's latest connection check (see diagnose()): id, name, finished_at "
        "(seconds since 1970), secure_context, permissions, devices, signaling, turn, links "
        "and advice (a sentence for each thing that fails). Kernel-side only.",
    )
    chat = traitlets.List(
        traitlets.Dict(),
        read_only=True,
        help="The room's chat messages, each once, oldest first: id, time (seconds since "
        "1970), sender_id, name, text, from_code.",
    )
    lobby = traitlets.List(
        traitlets.Dict(),
        read_only=True,
        help="Who waits to be let into the locked room, first come first: id, name, username "
        "and waiting_since (seconds since 1970), as the viewers that may act as hosts see it "
        "(the server shows it to nobody else). Let them in with `await w.admit(id)`. "
        "Kernel-side only.",
    )
    locked = traitlets.Bool(
        False,
        read_only=True,
        help="The room is locked (newcomers wait in the lobby), as the viewers that may act as "
        "hosts see it. Kernel-side only.",
    )
    breakouts = traitlets.Dict(
        read_only=True,
        help="The groups of the breakout the room is split into now, each group's name with "
        "the peer ids a host put in it ({} when none runs), as the viewers see it. Start one "
        "with `await w.breakout(...)`. Kernel-side only.",
    )

    _live: ClassVar[dict[tuple[str, str], weakref.ref[ConferenceWidget]]] = {}

    def __init__(self, room: str | None = None, stats_history: int = 3600, **kwargs: Any) -> None:
        kwargs.setdefault("name", default_name())
        self._created = time.time()  # the cell runs: the first step of every join
        self._stats_history = StatsHistory(stats_history)
        self._names_seen: dict[str, str] = {}  # peer id -> name, kept after they leave
        self._peer_joined: list[PeerCallback] = []
        self._peer_left: list[PeerCallback] = []
        self._stats_callbacks: list[StatsCallback] = []
        self._chat = ChatRecords()
        self._chat_callbacks: list[ChatCallback] = []
        self._diagnoses: dict[str, dict[str, Any]] = {}  # each viewer's last report, by key
        self._merging = False
        self._expiry: asyncio.TimerHandle | None = None
        self._plan: SignalingPlan | None = None
        self._planning: asyncio.Task[None] | None = None
        self._hosting: HostSocket | None = None  # the kernel's own socket, for host powers
        self._hosting_opened: asyncio.Lock | None = None
        self._hosting_closed: asyncio.Task[None] | None = None
        notebook = notebook_path() if room is None else ""
        if room is None and notebook:
            room = notebook_room(notebook)
        super().__init__(**({"room": room} if room is not None else {}), **kwargs)
        self._viewers = Viewers(self.instance_id, VIEWER_TIMEOUT)
        self._label_room(notebook)
        self.observe(self._peers_update, names="peers")
        self.observe(self._claim_room, names=["room", "signaling_url"])
        self.observe(self._relabel, names="room")
        self.observe(self._device_requested, names=["camera", "microphone"])
        self.observe(self._receive_video_requested, names="receive_video")
        self.observe(self._camera_device_requested, names="camera_device")
        self.observe(self._send_signaling, names=["signaling_url", "token"])
        self.on_msg(self._on_message)
        self._claim_room()
        self._start_planning()

    @traitlets.default("instance_id")
    def _new_instance_id(self) -> str:
        # Generated before the comm opens, so the browser's first state already has it.
        return uuid.uuid4().hex

    @traitlets.default("created_at")
    def _creation_time(self) -> float:
        return self._created

    @traitlets.default("room")
    def _own_room(self) -> str:
        return widget_room(self.instance_id)

    def _label_room(self, notebook: str) -> None:
        if notebook:
            label = f"the call of {PurePath(notebook).name}"
        elif self.room == widget_room(self.instance_id):
            label = f'room {self.room} (this widget\'s own: others join with room="{self.room}")'
        else:
            label = f"room {self.room}"
        self.set_trait("room_label", label)

    def _relabel(self, change: object = None) -> None:
        self._label_room("")

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

    # -- where the browsers join --------------------------------------------------------

    def _start_planning(self) -> None:
        """Find out, in the background, whether this kernel's Jupyter server serves
        signaling, and if not, find or start the local stand-in. Displaying the widget
        never waits for it: the browsers start with their page's server."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not in a kernel's event loop: the browsers use their page's server
        if os.environ.get("NBCONFERENCE_SIGNALING_URL"):
            return
        self._planning = loop.create_task(self._plan_signaling())

    async def _plan_signaling(self) -> None:
        try:
            plan = await plan_signaling()
        except Exception as exc:  # it should not raise; if it does, the browsers still hear
            plan = SignalingPlan(SignalingMode.UNKNOWN, advice=f"Could not plan signaling: {exc!r}")
        self._plan = plan
        self._planning = None
        if self.comm is not None:
            self._send_signaling()

    def signaling_message(self) -> dict[str, Any]:
        """What the browsers are told about where to join (the token only by message)."""
        if self.signaling_url:
            return {
                "mode": SignalingMode.GIVEN,
                "url": self.signaling_url,
                "token": self.token,
                "advice": "",
            }
        plan = self._plan
        if plan is None:
            return {"mode": SignalingMode.PENDING, "url": "", "token": "", "advice": ""}
        return {"mode": plan.mode, "url": plan.url, "token": plan.token, "advice": plan.advice}

    def _send_signaling(self, change: object = None) -> None:
        if self.comm is not None:
            self.send({"command": FromKernel.SIGNALING, **self.signaling_message()})

    # -- what the browsers report -------------------------------------------------------

    def _on_message(self, widget: object, content: Any, buffers: object = None) -> None:
        if not isinstance(content, dict) or not isinstance(content.get("viewer"), str):
            return
        key, kind, now = content["viewer"], content.get("type"), time.monotonic()
        viewers = self._viewers
        if kind == ToKernel.HELLO:
            self._send_signaling()
            return
        if kind == ToKernel.VIEWER and isinstance(content.get("record"), dict):
            viewers.report(key, content["record"], now)
        elif kind == ToKernel.STATS and isinstance(content.get("stats"), dict):
            measured = viewers.report_stats(key, content["stats"], now)
            if measured:
                self._stats_history.add(measured)
                self._publish()
                for callback in list(self._stats_callbacks):
                    callback(self.stats)
                return
        elif kind == ToKernel.GONE:
            viewers.gone(key)
        elif kind == ToKernel.VIEWER_LEFT and isinstance(content.get("id"), str):
            viewers.left_room(content["id"])
        elif kind == ToKernel.CHAT:
            self._chat_reported(content.get("message"))
            return
        elif kind == ToKernel.DIAGNOSIS and isinstance(content.get("report"), dict):
            self._diagnoses[key] = content["report"]
        viewers.expire(now)
        self._publish()

    def _publish(self) -> None:
        """Write the merged picture into the traits (the kernel is their only writer)."""
        viewers = self._viewers
        lead = viewers.lead() or {}
        only = viewers.only()
        for viewer in viewers.viewers():
            if viewer["id"]:
                self._names_seen[viewer["id"]] = viewer["name"]
        self._merging = True
        try:
            with self.hold_sync():
                self.set_trait("viewers", viewers.viewers())
                self.set_trait("peers", viewers.peers())
                self.set_trait("status", viewers.status())
                self.set_trait("peer_id", viewers.peer_id())
                self.set_trait("error", str(lead.get("error", "")))
                self.set_trait("stats", viewers.stats())
                self.set_trait("sharing_screen", any(v["screen"] for v in self.viewers))
                self.set_trait("recording", bool(viewers.recorders()))
                self.set_trait("media", viewers.media())
                self.set_trait("devices", viewers.devices())
                self.set_trait("diagnostics", self._diagnostics())
                self.set_trait("media_error", str((only or {}).get("media_error", "") or ""))
                locked, waiting = viewers.lobby()
                self.set_trait("lobby", waiting)
                self.set_trait("locked", locked)
                self.set_trait("breakouts", viewers.breakouts())
                if only is not None:
                    # One viewer: camera, microphone and incoming video are that person's,
                    # both ways.
                    for device in ("camera", "microphone"):
                        wanted = only.get(f"wanted_{device}")
                        if isinstance(wanted, bool):
                            setattr(self, device, wanted)
                    if isinstance(only.get("receive_video"), bool):
                        self.receive_video = only["receive_video"]
        finally:
            self._merging = False
        self._watch_viewers()

    def _diagnostics(self) -> list[dict[str, Any]]:
        """The viewers' reports, each named by its viewer; those of viewers gone, dropped."""
        keyed = self._viewers.keyed()
        self._diagnoses = {k: r for k, r in self._diagnoses.items() if k in keyed}
        return [
            diagnosis_record(self._diagnoses[key], viewer["id"], viewer["name"])
            for key, viewer in keyed.items()
            if key in self._diagnoses
        ]

    def _watch_viewers(self) -> None:
        """While viewers report, check now and then for one that stopped (a closed tab
        whose goodbye never came and whom no other viewer saw leave)."""
        if self._expiry is not None or len(self._viewers) == 0:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not in a kernel's event loop: the next report does the check
        self._expiry = loop.call_later(VIEWER_TIMEOUT / 2, self._check_viewers)

    def _check_viewers(self) -> None:
        self._expiry = None
        if self.comm is None:
            return
        if self._viewers.expire(time.monotonic()):
            self._publish()
        else:
            self._watch_viewers()

    def _device_requested(self, change: dict[str, Any]) -> None:
        if self._merging or self.comm is None:
            return
        command = FromKernel.CAMERA if change["name"] == "camera" else FromKernel.MICROPHONE
        self.send({"command": command, "on": bool(change["new"])})

    def _receive_video_requested(self, change: dict[str, Any]) -> None:
        if self._merging or self.comm is None:
            return
        self.send({"command": FromKernel.RECEIVE_VIDEO, "on": bool(change["new"])})

    def _camera_device_requested(self, change: dict[str, Any]) -> None:
        if self.comm is None or not change["new"]:
            return
        self.send({"command": FromKernel.CAMERA_DEVICE, "device": str(change["new"])})

    # -- callbacks --------------------------------------------------------------------

    # Like every on_* of nbconference (KernelPeer's too), each returns a function that
    # removes the callback; ``remove=True`` is the older way to do the same.

    def on_peer_joined(self, callback: PeerCallback, remove: bool = False) -> Remover:
        """Call ``callback(peer)`` when a peer appears in ``peers`` (also those already
        in the room when we join): once per peer, however many browsers view the
        widget. ``peer`` is a dict: id, name, username, initials, color, avatar_url,
        verified, camera, microphone, screen, connection, problem. Returns a function
        that removes the callback."""
        return _register(self._peer_joined, callback, remove)

    def on_peer_left(self, callback: PeerCallback, remove: bool = False) -> Remover:
        """Call ``callback(peer)`` when a peer leaves ``peers`` (also when we leave).
        Returns a function that removes the callback."""
        return _register(self._peer_left, callback, remove)

    def on_stats(self, callback: StatsCallback, remove: bool = False) -> Remover:
        """Call ``callback(stats)`` on every ``stats`` update (see ``stats``).
        Returns a function that removes the callback."""
        return _register(self._stats_callbacks, callback, remove)

    def on_chat(self, callback: ChatCallback, remove: bool = False) -> Remover:
        """Call ``callback(record)`` for every new chat message (a record of ``chat``),
        once however many browsers view the widget. Returns a function that removes it."""
        return _register(self._chat_callbacks, callback, remove)

    # Not _peers_changed: traitlets takes _<trait>_changed for a deprecated magic observer.
    def _peers_update(self, change: dict[str, Any]) -> None:
        # The first change of a trait nobody read yet has no old value (traitlets' Undefined).
        before = change["old"] if isinstance(change["old"], list) else []
        old = {p.get("id"): p for p in before}
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

    # -- statistics history -----------------------------------------------------------

    def stats_frame(self) -> Any:
        """Every ``stats`` sample kept so far (the last ``stats_history``, default 3600)
        as a pandas DataFrame indexed by time, one row per link and sample: ``peer_id``
        the remote peer, ``viewer`` the browser that measured it, and a ``name`` column.
        Needs pandas (``pip install 'nbconference[stats]'``)."""
        table = self._stats_history.frame()
        table["name"] = table["peer_id"].map(self._names_seen)
        return table

    def plot_stats(self, metrics: tuple[str, ...] = DEFAULT_METRICS) -> Any:
        """Plot ``metrics`` over time, one line per link; returns the matplotlib
        figure. Needs matplotlib (``pip install 'nbconference[stats]'``)."""
        return self._stats_history.plot(metrics, names=self._names_seen)

    # -- chat and raised hands ------------------------------------------------------------

    def _chat_reported(self, message: object) -> None:
        record = chat_record(message)
        if record is None or not self._chat.add(record):
            return  # another viewer's copy, or history we had
        self.set_trait("chat", self._chat.records())
        for callback in list(self._chat_callbacks):
            callback(record)

    def chat_frame(self) -> Any:
        """``chat`` as a pandas DataFrame indexed by time (UTC). Needs pandas
        (``pip install 'nbconference[stats]'``)."""
        return self._chat.frame()

    def send_chat(self, text: str) -> None:
        """Post ``text`` to the room's chat, once, through one of the browsers that view
        the widget; the room sees it marked as sent by the notebook's code, under that
        browser's person. Raises RuntimeError when no viewer is in the room."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("chat text must be text that is not blank")
        self.send({"command": FromKernel.CHAT, "text": text, "via": self._poster()})

    @property
    def timeline(self) -> list[dict[str, Any]]:
        """Why joining was slow: one record per viewing browser, with when each step of
        its latest join happened, in seconds after this kernel ran the cell. ``phases``:
        ``cell`` (0), ``rendered`` (the view is on screen), ``target`` (the signaling
        server is known), ``media`` (camera and microphone up; the call does not wait for
        them), ``welcome`` (in the room), ``offer`` (the first offer sent or received),
        ``ice`` (the first link connected), ``frame`` (the first remote video frame
        decoded); None for a step not reached yet. ``slowest`` names the longest step
        ("rendered → target"), ``started`` is when the cell ran (seconds since 1970), and
        ``id``/``name`` say which viewer. The browsers' clocks and the kernel's are this
        machine's when both run on it; on another machine the steps after ``cell`` still
        compare among themselves."""
        return self._viewers.timelines(self.created_at * 1000)

    @property
    def hands(self) -> list[dict[str, Any]]:
        """Everyone in the room whose hand is up (this widget's viewers too), first raised
        first: id, name, raised_at (seconds since 1970, the server's clock)."""
        return hand_queue(self.viewers, self.peers)

    def lower_hand(self, peer_id: str) -> None:
        """Lower anyone's raised hand, as a teacher does (through one viewing browser;
        the room sees that its person lowered it)."""
        if not isinstance(peer_id, str) or not peer_id:
            raise ValueError("peer_id must be a peer id (see w.hands or w.peers)")
        self.send({"command": FromKernel.LOWER_HAND, "peer": peer_id, "via": self._poster()})

    def _poster(self) -> str:
        key = self._viewers.in_room() if self.comm is not None else None
        if key is None:
            raise RuntimeError(
                "no browser that shows this widget is in the call: display the widget "
                "and join first"
            )
        return key

    # -- a host's powers (client/hosting.py) ----------------------------------------------

    @property
    def hosts(self) -> list[str]:
        """The ids of the room's hosts (this widget's viewers too), as the server marks
        them. ``w.peers`` and ``w.viewers`` say ``"host": True`` of each."""
        viewers = [v["id"] for v in self.viewers if v.get("host") and v.get("id")]
        return viewers + [p["id"] for p in self.peers if p.get("host")]

    async def _host_requests(self) -> HostRequests:
        """The requests of the kernel's own socket to the room's signaling server (the
        browsers' server, found as a KernelPeer finds it), opened on first use."""
        if self.comm is None:
            raise RuntimeError("the widget is closed")
        if self._hosting_opened is None:
            self._hosting_opened = asyncio.Lock()
        async with self._hosting_opened:
            if self._hosting is None or self._hosting.closed:
                if self._hosting is not None:
                    await self._hosting.close()
                    self._hosting = None
                url = self.signaling_url or None
                url, token = await resolve_signaling(url, self.token, HOST_TIMEOUT)
                self._hosting = await HostSocket.open(url, token, self.room, HOST_TIMEOUT)
            self._hosting.requests.room = self.room
            return self._hosting.requests

    # -- commands ---------------------------------------------------------------------

    def diagnose(self) -> None:
        """Ask every browser that shows the widget to check its connection, and return at
        once (the answers travel through the browsers, which a running cell cannot wait
        for). Each report lands in ``diagnostics`` within a few seconds (the TURN servers
        have 5 s each, tried at the same time) and in the browser's ⓘ panel: secure
        context, camera and microphone permissions, devices, the signaling round trip, a
        relay from each TURN server, each link's route and quality, and ``advice``, a
        sentence for each thing that fails. Watch it with
        ``w.observe(callback, names="diagnostics")`` or read it in a later cell."""
        if self.comm is None:
            raise RuntimeError("the widget is closed: no browser can be asked")
        self.send({"command": FromKernel.DIAGNOSE})

    def leave(self) -> None:
        """Hang up in every browser viewing the widget: each leaves the room and stops
        its camera and microphone."""
        self.send({"command": FromKernel.LEAVE})

    def join(self) -> None:
        """Join again after :meth:`leave` (or after an error such as a full room), in
        every browser that shows the widget."""
        self.send({"command": FromKernel.JOIN})

    def close(self) -> None:
        """Leave the call and close the widget for good."""
        if self.comm is not None:
            self.leave()
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if self._planning is not None:
            self._planning.cancel()
            self._planning = None
        if self._hosting is not None:
            hosting, self._hosting = self._hosting, None
            with contextlib.suppress(RuntimeError):  # no running loop: the process ends
                self._hosting_closed = asyncio.get_running_loop().create_task(hosting.close())
        live = type(self)._live
        for key, ref in list(live.items()):
            if ref() is self:
                del live[key]
        super().close()

    def __repr__(self) -> str:
        return (
            f"<ConferenceWidget room={self.room!r} status={self.status!r} "
            f"viewers={len(self.viewers)} peers={len(self.peers)}>"
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
