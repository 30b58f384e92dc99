"""Recorder: the kernel records the call, and everyone in it is told.

The recorder joins the room as a participant of kind ``recorder`` (docs/protocol.md,
"Recorders"): the server carries that kind in its record, so every page shows a red
"Recording" banner naming who started it for as long as it is in the room. It sends no
media, asks every sender for its whole picture, and writes what it receives as it
arrives (``recording``): each participant's audio, camera and screen share in files of
their own, one mixed audio track, and a manifest::

    rec = await Recorder.start("lab", folder="recordings/")   # top-level await
    ...
    await rec.stop()
    rec.manifest()        # a DataFrame: who joined and left, cameras and screens, files

A recorder that dies (a crashed or killed kernel) leaves files readable up to their last
second; a kernel shutting down closes them properly. Needs the ``kernel-peer`` extra.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import threading
import time
import weakref
from functools import partial
from pathlib import Path
from typing import Any

from ..client.discovery import resolve_signaling
from ..client.session import SignalingSession
from ..protocol import (
    MAX_NAME_CHARS,
    MAX_VIEW_HEIGHT,
    RECORDER_KIND,
    ServerFrame,
    valid_room,
)
from .disk_writer import DiskWriter
from .link import PeerLink
from .mesh import Mesh, RemotePeer
from .recording import MIX_PERIOD, AudioMixer, Manifest, MediaFile
from .tasks import Tasks

log = logging.getLogger("nbconference")

MANIFEST = "manifest.json"
MIXED_AUDIO = "mixed-audio.mkv"
# The presence keys whose changes the manifest records, as "<key> on" / "<key> off".
TRACKED = ("camera", "microphone", "screen")
# How far the mix may fall behind the clock (a busy loop) before it skips ahead.
MAX_MIX_LAG = 1.0
# How long a process that ends while recording spends leaving the room (Jupyter kills a
# kernel that takes more than 5 s to shut down).
EXIT_TIMEOUT = 4.0
# A frame whose sender's timestamp puts it further back than this from its arrival starts
# its track's clock anew (the sender restarted its timestamps, or they wrapped).
MAX_BACKLOG = 5.0


class Recorder:
    """Records a room from this process; see the module docstring.

    ``folder`` receives one sub-folder per recording (``<room>-<UTC time>``), whose path
    is :attr:`path`. ``name`` is who started the recording, as the banner says it where
    the server knows nobody on this socket (a kernel's token has no Jupyter user): by
    default the user this process runs as. ``url``, ``token`` and ``timeout`` are as for
    :class:`~nbconference.KernelPeer`.
    """

    def __init__(
        self,
        room: str,
        folder: str | Path = "recordings",
        *,
        name: str | None = None,
        url: str | None = None,
        token: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not valid_room(room):
            raise ValueError("room must be 1-64 characters of letters, digits, '.', '_' or '-'")
        if name is None:
            from ..widget import default_name

            name = default_name()
        if len(name) > MAX_NAME_CHARS:
            raise ValueError(f"name must be at most {MAX_NAME_CHARS} characters")
        self.room, self.name, self.timeout = room, name, timeout
        self.folder = Path(folder)
        self.path = self.folder  # the recording's own folder once started
        self._url, self._token = url, token or ""
        self._status, self._error = "new", ""
        self._session: SignalingSession | None = None
        self._mesh = Mesh(self._send, None, self._on_media, self._peer_gone, self._wants)
        self._started = 0.0
        self._manifest = Manifest()
        self._states: dict[str, dict[str, bool]] = {}
        self._files: dict[tuple[str, str], MediaFile] = {}
        # Per track: a sender timestamp (s) and the monotonic time it stands for.
        self._clocks: dict[tuple[str, str], tuple[float, float]] = {}
        self._mixer: AudioMixer | None = None
        # Files are written on a thread of their own; the loop only hands frames over.
        self._writer: DiskWriter | None = None
        self._dropped = 0  # by the writer, once it is closed
        self._tasks = Tasks("Recorder")
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- starting and stopping --------------------------------------------------------

    @classmethod
    async def start(cls, room: str, folder: str | Path = "recordings", **options: Any) -> Recorder:
        """Join ``room`` as its recorder and start writing into ``folder``.

        Raises ``SignalingError`` with a readable reason (``room-full``: a recorder takes
        a place in the room like a person).
        """
        return await cls(room, folder, **options)._connect()

    async def _connect(self) -> Recorder:
        if self._status != "new":
            raise RuntimeError(f"this Recorder is already {self._status}")
        self._status = "connecting"
        try:
            self._url, self._token = await resolve_signaling(self._url, self._token, self.timeout)
            self._session = SignalingSession(
                self._url,
                self._token,
                self.room,
                self.name,
                {"camera": False, "microphone": False, "screen": False},
                self.timeout,
                kind=RECORDER_KIND,
            )
            welcome = await self._session.open()
        except BaseException as exc:
            self._status, self._error = "error", str(exc)
            raise
        self._begin(welcome)
        self._status = "recording"
        self._tasks.spawn(self._read_signaling())
        self._tasks.spawn(self._mix())
        self._loop = asyncio.get_running_loop()
        _RECORDING.add(self)
        _hook_exit()
        return self

    def _begin(self, welcome: dict[str, Any]) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        path = self.folder / f"{self.room}-{stamp}"
        suffix = 1
        while path.exists():
            suffix += 1
            path = self.folder / f"{self.room}-{stamp}-{suffix}"
        path.mkdir(parents=True)
        self.path = path
        self._started = time.monotonic()
        self._manifest = Manifest()
        self._manifest.mixed_audio = MIXED_AUDIO
        self._mixer = AudioMixer(MediaFile(path / MIXED_AUDIO, "audio", self._started))
        self._writer = DiskWriter()
        self._mesh.welcomed(welcome)
        for info in welcome.get("peers", []):
            self._arrived(info)
        self._save()

    async def stop(self) -> None:
        """Leave the room (the banners go away) and close every file properly."""
        if self._status in ("stopped", "new"):
            return
        self._status = "stopped"
        if self._session is not None:
            await self._session.close()
        await self._tasks.cancel_all()
        await self._mesh.close()
        self.close_files()

    def close_files(self) -> None:
        """Close every file and write the manifest; what :meth:`stop` and the process's
        exit do. The recorder stays in the room until :meth:`stop`."""
        _RECORDING.discard(self)
        offset = self._offset()
        for peer_id, record in self._manifest.participants.items():
            if record["left"] is None:
                record["left"] = offset
                self._manifest.event(offset, peer_id, "recording stopped")
        files = [*self._files.values(), *([self._mixer.file] if self._mixer else [])]
        self._files.clear()
        self._mixer = None
        writer, self._writer = self._writer, None
        if writer is not None:
            for file in files:  # after the frames queued for them
                writer.submit(file.close)
            if not writer.close():
                log.warning("nbconference: the recorder's files took too long to close")
            self._dropped = writer.dropped
            if writer.dropped:
                self._manifest.event(offset, "", f"{writer.dropped} video frames dropped")
        if self.path != self.folder:
            self._save()

    def _at_exit(self) -> None:
        """The process is ending while we record (a kernel shut down, a script's end).
        The files are closed first: they must not be lost. A kernel's loop has stopped but
        is not closed: it runs once more, briefly, to leave the room (the banners go at
        once rather than after the server's grace window) and close the connections."""
        self.close_files()
        loop = self._loop
        if loop is not None and not loop.is_closed() and not loop.is_running():
            try:
                loop.run_until_complete(asyncio.wait_for(self.stop(), EXIT_TIMEOUT))
            except BaseException:
                log.warning("nbconference: the recorder did not leave within %g s", EXIT_TIMEOUT)

    async def __aenter__(self) -> Recorder:
        return self if self._status != "new" else await self._connect()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- what it is doing -------------------------------------------------------------

    @property
    def id(self) -> str:
        """The recorder's peer id in the room ('' before it joined)."""
        return self._mesh.id

    @property
    def status(self) -> str:
        """``new``, ``connecting``, ``recording``, ``reconnecting``, ``stopped`` or ``error``."""
        session = self._session
        if self._status == "recording" and session is not None and session.reconnecting:
            return "reconnecting"
        return self._status

    @property
    def error(self) -> str:
        return self._error

    @property
    def peers(self) -> dict[str, RemotePeer]:
        """The participants being recorded, by id (a snapshot)."""
        return self._mesh.peers

    @property
    def links(self) -> dict[str, PeerLink]:
        return self._mesh.links

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def manifest(self) -> Any:
        """The manifest as a pandas DataFrame, one row per event: ``offset`` (seconds
        since the start), ``peer_id``, ``name``, ``event`` (joined, left, camera on/off,
        microphone on/off, screen on/off, recording stopped) and ``file`` (the track an
        "on" event starts, relative to :attr:`path`). The JSON is :attr:`manifest_path`."""
        return self._manifest.frame()

    def tracks(self) -> list[dict[str, Any]]:
        """The tracks being written: ``peer_id``, ``kind`` (audio, camera, screen), ``file``
        and ``frames`` written so far (an audio frame is 20 ms)."""
        return [
            {"peer_id": peer_id, "kind": kind, "file": file.path.name, "frames": file.frames}
            for (peer_id, kind), file in self._files.items()
        ]

    @property
    def dropped_frames(self) -> int:
        """Video frames dropped so far because writing fell behind (a busy machine)."""
        return self._writer.dropped if self._writer is not None else self._dropped

    def manifest_json(self) -> dict[str, Any]:
        """The manifest as written to :attr:`manifest_path`."""
        return self._manifest.to_json()

    def __repr__(self) -> str:
        return f"<Recorder {self.status} of {self.room!r} into {str(self.path)!r}>"

    # -- the room ---------------------------------------------------------------------

    async def _read_signaling(self) -> None:
        assert self._session is not None
        while (frame := await self._session.receive()) is not None:
            try:
                self._note(frame)
            except Exception:
                log.exception("nbconference: the recorder could not note %s", frame.get("type"))
            self._mesh.dispatch(frame)
        if self._status != "stopped":
            self._status, self._error = "error", self._session.error
            self.close_files()

    def _note(self, frame: dict[str, Any]) -> None:
        """What the manifest learns from a room event (before the mesh acts on it)."""
        kind = frame.get("type")
        if kind == ServerFrame.PEER_JOINED and isinstance(frame.get("peer"), dict):
            self._arrived(frame["peer"])
        elif kind == ServerFrame.PEER_STATE and frame.get("id") in self._states:
            self._changed(str(frame["id"]), frame.get("state") or {})
        elif kind == ServerFrame.PEER_LEFT:
            self._left(str(frame.get("id")))
        elif kind == ServerFrame.WELCOME and not frame.get("resumed"):
            # Back as a new peer after a long drop: whoever we knew may be gone.
            known = {p.get("id") for p in frame.get("peers", [])}
            for peer_id in [p for p in self._states if p not in known]:
                self._left(peer_id)
            for info in frame.get("peers", []):
                if info.get("id") not in self._states:
                    self._arrived(info)
        else:
            return
        self._save()

    def _arrived(self, info: dict[str, Any]) -> None:
        peer_id = str(info.get("id", ""))
        offset = self._offset()
        record = self._manifest.participant(peer_id, str(info.get("name", "")), offset)
        record["kind"] = info.get("kind", "participant")
        self._states[peer_id] = {}
        self._changed(peer_id, info.get("state") or {})

    def _changed(self, peer_id: str, state: dict[str, Any]) -> None:
        before = self._states.get(peer_id, {})
        offset = self._offset()
        for key in TRACKED:
            if key in state and bool(state[key]) != before.get(key, False):
                self._manifest.event(offset, peer_id, f"{key} {'on' if state[key] else 'off'}")
        self._states[peer_id] = {**before, **{k: bool(state[k]) for k in TRACKED if k in state}}

    def _left(self, peer_id: str) -> None:
        if self._states.pop(peer_id, None) is None:
            return
        offset = self._offset()
        record = self._manifest.participants.get(peer_id)
        if record is not None:
            record["left"] = offset
        self._manifest.event(offset, peer_id, "left")
        for key in [k for k in self._files if k[0] == peer_id]:
            self._submit(self._files.pop(key).close)
            self._clocks.pop(key, None)
        if self._mixer is not None:
            self._submit(partial(self._mixer.remove, peer_id))

    def _peer_gone(self, peer_id: str) -> None:
        if peer_id in self._states:
            self._left(peer_id)
            self._save()

    # -- media ------------------------------------------------------------------------

    def _wants(self, peer_id: str) -> tuple[int, int]:
        """Everyone's whole camera and screen: a recording is not a thumbnail."""
        return (MAX_VIEW_HEIGHT, MAX_VIEW_HEIGHT)

    def _on_media(self, link: PeerLink, kind: str, frame: Any) -> None:
        if self._mixer is None or link.peer_id not in self._states:
            return  # stopped, or a peer that has left
        at = self._media_time((link.peer_id, kind), frame, time.monotonic())
        file = self._files.get((link.peer_id, kind))
        if file is None:
            file = self._open(link.peer_id, kind)
        if kind == "audio":
            self._submit(partial(_write_audio, file, self._mixer, link.peer_id, frame, at))
        else:
            self._submit(partial(file.write, frame, at), droppable=True)

    def _media_time(self, track: tuple[str, str], frame: Any, arrival: float) -> float:
        """When ``frame`` was sent, on our clock: its sender's timestamp (RTP, which aiortc
        puts in ``pts``) from the time of the quickest arrival so far. Arrival times
        alone would not do: frames queued while the loop was busy arrive together, and
        audio written from them would drift ahead of the call."""
        if frame.pts is None or frame.time_base is None:
            return arrival
        sent = float(frame.pts * frame.time_base)
        anchor = self._clocks.get(track)
        if anchor is not None:
            at = anchor[1] + (sent - anchor[0])
            if arrival - MAX_BACKLOG <= at <= arrival:
                return at
        # The first frame, one that came quicker than any before it, or a new clock.
        self._clocks[track] = (sent, arrival)
        return arrival

    def _open(self, peer_id: str, kind: str) -> MediaFile:
        name = self._manifest.file_name(peer_id, kind)
        record = self._manifest.participants[peer_id]
        record["files"][kind] = name
        file = MediaFile(self.path / name, "audio" if kind == "audio" else "video", self._started)
        self._files[peer_id, kind] = file
        self._save()
        return file

    async def _mix(self) -> None:
        """One mixed period every MIX_PERIOD, on the clock (so the mixed track lines up
        with the others), catching up after a busy moment and skipping a long stall."""
        tick = 0
        while self._mixer is not None:
            due = self._started + (tick + 1) * MIX_PERIOD
            now = time.monotonic()
            if now < due:
                await asyncio.sleep(due - now)
            elif now - due > MAX_MIX_LAG:
                tick = int((now - self._started) / MIX_PERIOD)  # a gap, not a burst
                continue
            if self._mixer is None:
                return
            self._submit(partial(self._mixer.tick, self._started + tick * MIX_PERIOD))
            tick += 1

    # -- plumbing ---------------------------------------------------------------------

    def _offset(self) -> float:
        return round(time.monotonic() - self._started, 3) if self._started else 0.0

    def _save(self) -> None:
        try:
            self._manifest.save(self.manifest_path)
        except OSError:
            log.exception("nbconference: the recorder could not write its manifest")

    def _submit(self, job: Any, droppable: bool = False) -> None:
        if self._writer is not None:
            self._writer.submit(job, droppable)

    def _send(self, frame: dict[str, Any]) -> None:
        if self._session is not None and self._status != "stopped":
            self._session.send(frame)


def _write_audio(file: MediaFile, mixer: AudioMixer, peer_id: str, frame: Any, at: float) -> None:
    """A participant's voice, into its own file and the mix (on the writer's thread)."""
    file.write(frame, at)
    mixer.push(peer_id, frame)


# Recorders still recording, closed when the process ends. Hooked into threading's exit
# (it runs before the interpreter waits for other threads: aiortc's decoder threads of a
# kernel whose loop stopped would wait forever, and plain atexit would never come), and
# into atexit as well, for a process whose threads end anyway.
_RECORDING: weakref.WeakSet[Recorder] = weakref.WeakSet()
_HOOKED: list[bool] = []


def _hook_exit() -> None:
    if _HOOKED:
        return
    _HOOKED.append(True)
    atexit.register(_stop_all)
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        # RuntimeError: the interpreter is shutting down already, and atexit will do.
        with contextlib.suppress(RuntimeError):
            register(_stop_all)


def _stop_all() -> None:
    for recorder in list(_RECORDING):
        recorder._at_exit()
