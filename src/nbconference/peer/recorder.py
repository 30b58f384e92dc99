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

What a participant sends cannot stall or swell a recording. Only changes of what the
manifest records (camera, microphone and screen on and off, joining and leaving) make an
event; a raised hand or a repeated state makes none, and a key that flips again within
``COALESCE`` seconds of its last event is noted once that time is up, as it is then, so
flips in between make no events and the last state is never lost. Events go to
``events.jsonl`` as they happen and ``manifest.json`` is rewritten every few seconds,
both on a thread of their own (``journal``): the event loop never writes them. Frames
waiting to be written are bounded in bytes (``disk_writer``), and ``max_bytes``,
``max_seconds`` and ``min_free_bytes`` stop a recording that grows too long or large or
fills the disk; :attr:`Recorder.stopped_reason` and the manifest say why it stopped.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import math
import os
import shutil
import threading
import time
import weakref
from functools import partial
from pathlib import Path
from typing import Any

from ..identity import default_name
from ..protocol import MAX_VIEW_HEIGHT, RECORDER_KIND, ServerFrame
from .disk_writer import DiskWriter, frame_bytes
from .journal import Journal
from .link import MediaSource
from .participant import Participant
from .recording import MIX_PERIOD, AudioMixer, Manifest, MediaFile

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
# A key of a participant's state that changes again within this many seconds of its last
# event waits until then to be noted (see the module docstring).
COALESCE = 1.0
# How often manifest.json is rewritten while events come (joins, leaves and new files
# rewrite it at once), and how often the limits are checked.
SAVE_PERIOD = 2.0
WATCH_PERIOD = 0.5
# Free disk space under which a recording stops (and does not start), by default.
MIN_FREE_BYTES = 256 * 2**20


class Recorder(Participant):
    """Records a room from this process; see the module docstring.

    ``folder`` receives one sub-folder per recording (``<room>-<UTC time>``), whose path
    is :attr:`path`. ``name`` is who started the recording, as the banner says it where
    the server knows nobody on this socket (a kernel's token has no Jupyter user): by
    default the user this process runs as. ``url``, ``token`` and ``timeout``, the room
    (:attr:`peers`, :attr:`links`, the ``on_peer_*`` callbacks) and chat are those of
    every :class:`~nbconference.peer.participant.Participant`, as for
    :class:`~nbconference.KernelPeer`; its status in the room is ``recording``, and
    ``stopped`` once it has stopped.

    Limits, checked every ``WATCH_PERIOD`` seconds (and which may be changed while it
    records): ``max_seconds`` of recording, ``max_bytes`` of files in :attr:`path`, and
    ``min_free_bytes`` left on its disk (it does not start with less). Reaching one stops
    the recording as :meth:`stop` does: files closed and readable, the manifest written,
    the room left; :attr:`stopped_reason` says which (``max_seconds``, ``max_bytes``,
    ``low_disk``, ``disk_error``; or ``stop``, ``disconnected``, ``exit``) and
    :attr:`stopped_message` says it in a sentence, as the log and the manifest do.
    """

    kind = RECORDER_KIND
    IN_ROOM = "recording"
    LEFT = "stopped"

    def __init__(
        self,
        room: str,
        folder: str | Path = "recordings",
        *,
        name: str | None = None,
        url: str | None = None,
        token: str | None = None,
        timeout: float = 10.0,
        max_bytes: int | None = None,
        max_seconds: float | None = None,
        min_free_bytes: int = MIN_FREE_BYTES,
    ) -> None:
        for what, limit in (("max_bytes", max_bytes), ("max_seconds", max_seconds)):
            if limit is not None and not limit > 0:
                raise ValueError(f"{what} must be positive (or None for no limit)")
        if min_free_bytes < 0:
            raise ValueError("min_free_bytes must be 0 or more")
        name = default_name() if name is None else name
        super().__init__(room, name=name, url=url, token=token, timeout=timeout)
        self.max_bytes, self.max_seconds = max_bytes, max_seconds
        self.min_free_bytes = min_free_bytes
        self.folder = Path(folder)
        self.path = self.folder  # the recording's own folder once started
        self._started = 0.0
        self._manifest = Manifest()
        self._journal: Journal | None = None
        self._passed = 0  # events handed to the journal
        self._dirty = False  # events since manifest.json was last rewritten
        # Per participant: its state now, and per key what the last event said and when.
        self._states: dict[str, dict[str, bool]] = {}
        self._said: dict[str, dict[str, tuple[bool, float]]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._files: dict[tuple[str, str], MediaFile] = {}
        # Per track: a sender timestamp (s) and the monotonic time it stands for.
        self._clocks: dict[tuple[str, str], tuple[float, float]] = {}
        self._mixer: AudioMixer | None = None
        # Files are written on a thread of their own; the loop only hands frames over.
        self._writer: DiskWriter | None = None
        self._dropped = 0  # by the writer, once it is closed
        self._closing: asyncio.Task[None] | None = None  # stop()'s work, once begun
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- starting and stopping --------------------------------------------------------

    @classmethod
    async def start(cls, room: str, folder: str | Path = "recordings", **options: Any) -> Recorder:
        """Join ``room`` as its recorder and start writing into ``folder``; ``options``
        are the constructor's (``name``, ``max_bytes``, ``max_seconds``...).

        Raises ``SignalingError`` with a readable reason (``room-full``: a recorder takes
        a place in the room like a person), and ``OSError`` when the disk of ``folder``
        has less than ``min_free_bytes`` free.
        """
        return await cls(room, folder, **options).connect()

    async def _prepare(self) -> None:
        free = await asyncio.to_thread(_free_bytes, self.folder)
        if free < self.min_free_bytes:
            raise OSError(
                f"only {free} bytes are free on the disk of {self.folder}, under"
                f" min_free_bytes={self.min_free_bytes}: not recording"
            )

    def _welcomed(self, welcome: dict[str, Any]) -> None:
        self._loop = asyncio.get_running_loop()
        self._begin(welcome)

    def _in_room(self) -> None:
        self._tasks.spawn(self._mix())
        self._tasks.spawn(self._watch())
        _RECORDING.add(self)
        _hook_exit()

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
        self._journal, self._passed = Journal(path, MANIFEST), 0
        self._mixer = AudioMixer(MediaFile(path / MIXED_AUDIO, "audio", self._started))
        self._writer = DiskWriter()
        self._mesh.welcomed(welcome)
        for info in welcome.get("peers", []):
            self._arrived(info)
        self._save()

    async def stop(self) -> None:
        """Leave the room (the banners go away) and close every file properly. Returns
        once that is done, also when the recording was already stopping (a limit)."""
        self._stopping("stop", "stop() was called")
        if self._status == "new":
            return
        if self._closing is None:
            self._status = self.LEFT
            self._closing = asyncio.get_running_loop().create_task(self._closing_work())
        # Shielded: the task that started it (the limits' watch) is cancelled by it.
        await asyncio.shield(self._closing)
        self._room_changed()

    async def leave(self) -> None:
        """Stop recording: :meth:`stop`."""
        await self.stop()

    async def _closing_work(self) -> None:
        if self._session is not None:
            await self._session.close()
        await self._close()

    async def _close(self) -> None:
        await super()._close()
        self.close_files()

    async def _lost(self) -> None:
        self._stopping("disconnected", f"the signaling server was lost: {self._error}")
        self.close_files()

    def close_files(self) -> None:
        """Close every file and write the manifest; what :meth:`stop` and the process's
        exit do. The recorder stays in the room until :meth:`stop`."""
        _RECORDING.discard(self)
        journal = self._journal
        if journal is None:
            return  # closed already, or never started
        self._stopping("stop", "the files were closed")
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for peer_id in self._states:
            self._settle(peer_id, at_once=True)  # a last state still waiting to be noted
        offset = self._offset()
        for peer_id, record in self._manifest.participants.items():
            if record["left"] is None:
                record["left"] = offset
                self._event(peer_id, "recording stopped", offset)
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
                self._event("", f"{writer.dropped} video frames dropped", offset)
        self._journal = None
        if not journal.close(self._manifest.head()):
            log.warning("nbconference: the recorder's manifest took too long to write")
        if journal.error:
            log.warning("nbconference: the recorder's manifest: %s", journal.error)

    def _stopping(self, reason: str, message: str) -> None:
        """Say why the recording stops (the first reason given is the one)."""
        if self._manifest.stopped_reason or self._status == "new":
            return
        self._manifest.stopped_reason, self._manifest.stopped_message = reason, message
        level = logging.INFO if reason == "stop" else logging.WARNING
        log.log(level, "nbconference: the recording of %r stopped: %s", self.room, message)

    def _at_exit(self) -> None:
        """The process is ending while we record (a kernel shut down, a script's end).
        The files are closed first: they must not be lost. A kernel's loop has stopped but
        is not closed: it runs once more, briefly, to leave the room (the banners go at
        once rather than after the server's grace window) and close the connections."""
        self._stopping("exit", "the process ended while recording")
        self.close_files()
        loop = self._loop
        if loop is not None and not loop.is_closed() and not loop.is_running():
            try:
                loop.run_until_complete(asyncio.wait_for(self.stop(), EXIT_TIMEOUT))
            except BaseException:
                log.warning("nbconference: the recorder did not leave within %g s", EXIT_TIMEOUT)

    # -- what it is doing -------------------------------------------------------------

    @property
    def stopped_reason(self) -> str:
        """Why the recording stopped ('' while it records): ``stop`` (:meth:`stop`),
        ``max_seconds``, ``max_bytes``, ``low_disk`` (under ``min_free_bytes`` free),
        ``disk_error`` (its folder could not be read), ``disconnected`` (the signaling
        server was lost) or ``exit`` (the process ended)."""
        return self._manifest.stopped_reason

    @property
    def stopped_message(self) -> str:
        """:attr:`stopped_reason` in a sentence, with the figures."""
        return self._manifest.stopped_message

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def manifest(self) -> Any:
        """The manifest as a pandas DataFrame, one row per event: ``offset`` (seconds
        since the start), ``peer_id``, ``name``, ``event`` (joined, left, camera on/off,
        microphone on/off, screen on/off, recording stopped) and ``file`` (the track an
        "on" event starts, relative to :attr:`path`). The JSON is :attr:`manifest_path`,
        rewritten every ``SAVE_PERIOD`` seconds while events come and at the stop; the
        events are also in ``events.jsonl`` beside it, one a line, as they happen."""
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

    def _room_frame(self, frame: dict[str, Any]) -> None:
        try:
            self._note(frame)
        except Exception:
            log.exception("nbconference: the recorder could not note %s", frame.get("type"))

    def _note(self, frame: dict[str, Any]) -> None:
        """What the manifest learns from a room event (before the mesh acts on it)."""
        kind = frame.get("type")
        if kind == ServerFrame.PEER_STATE and frame.get("id") in self._states:
            self._changed(str(frame["id"]), frame.get("state") or {})
            return  # events only: manifest.json follows within SAVE_PERIOD
        if kind == ServerFrame.PEER_JOINED and isinstance(frame.get("peer"), dict):
            self._arrived(frame["peer"])
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
        self._pass_events()  # "joined", for one we had not seen
        self._states[peer_id] = {}
        self._changed(peer_id, info.get("state") or {})

    def _changed(self, peer_id: str, state: dict[str, Any]) -> None:
        current = self._states.get(peer_id)
        if current is None:
            return
        current.update({key: bool(state[key]) for key in TRACKED if key in state})
        self._settle(peer_id)

    def _settle(self, peer_id: str, at_once: bool = False) -> None:
        """Note each tracked key whose state differs from what its last event said: now,
        unless that event is less than COALESCE old; then when it is (a timer), as the
        state is then. ``at_once``: now whatever the age (the peer leaves, we stop)."""
        current = self._states.get(peer_id)
        if current is None:
            return
        said = self._said.setdefault(peer_id, {})
        now = time.monotonic()
        wait = math.inf
        for key in TRACKED:
            value = current.get(key, False)
            shown, when = said.get(key, (False, -math.inf))
            if value == shown:
                continue
            if at_once or now - when >= COALESCE:
                said[key] = (value, now)
                self._event(peer_id, f"{key} {'on' if value else 'off'}")
            else:
                wait = min(wait, when + COALESCE - now)
        if wait < math.inf and peer_id not in self._timers and self._loop is not None:
            self._timers[peer_id] = self._loop.call_later(wait, self._settle_later, peer_id)

    def _settle_later(self, peer_id: str) -> None:
        self._timers.pop(peer_id, None)
        self._settle(peer_id)

    def _left(self, peer_id: str) -> None:
        if peer_id not in self._states:
            return
        self._settle(peer_id, at_once=True)  # its last state, before it goes
        self._states.pop(peer_id)
        self._said.pop(peer_id, None)
        timer = self._timers.pop(peer_id, None)
        if timer is not None:
            timer.cancel()
        offset = self._offset()
        record = self._manifest.participants.get(peer_id)
        if record is not None:
            record["left"] = offset
        self._event(peer_id, "left", offset)
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

    def _hears(self, peer_id: str) -> bool:
        return True

    def _on_media(self, link: MediaSource, kind: str, frame: Any) -> None:
        if self._mixer is None or link.peer_id not in self._states:
            return  # stopped, or a peer that has left
        at = self._media_time((link.peer_id, kind), frame, time.monotonic())
        file = self._files.get((link.peer_id, kind))
        if file is None:
            file = self._open(link.peer_id, kind)
        if kind == "audio":
            self._submit(partial(_write_audio, file, self._mixer, link.peer_id, frame, at))
        else:
            self._submit(partial(file.write, frame, at), droppable=True, size=frame_bytes(frame))

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

    def _event(self, peer_id: str, what: str, offset: float | None = None) -> None:
        """Note an event: in memory, and in events.jsonl by the journal's thread."""
        self._manifest.event(self._offset() if offset is None else offset, peer_id, what)
        self._pass_events()

    def _pass_events(self) -> None:
        """Hand the events noted since the last call to the journal."""
        events = self._manifest.events
        if self._journal is not None:
            for event in events[self._passed :]:
                self._journal.event(event)
        self._dirty = self._dirty or len(events) > self._passed
        self._passed = len(events)

    def _save(self) -> None:
        """Have manifest.json rewritten (on the journal's thread)."""
        if self._journal is not None:
            self._journal.save(self._manifest.head())
            self._dirty = False

    async def _watch(self) -> None:
        """Rewrite manifest.json every SAVE_PERIOD while events come, and stop the
        recording once a limit is reached."""
        saved = time.monotonic()
        while self._status == self.IN_ROOM:
            wait = WATCH_PERIOD
            if self.max_seconds is not None:
                wait = min(wait, self._started + self.max_seconds - time.monotonic())
            await asyncio.sleep(max(wait, 0.0))
            if self._dirty and time.monotonic() - saved >= SAVE_PERIOD:
                self._save()
                saved = time.monotonic()
            over = await self._over_limit()
            if over is not None and self._status == self.IN_ROOM:
                self._stopping(*over)
                await self.stop()

    async def _over_limit(self) -> tuple[str, str] | None:
        """The limit reached, as (reason, message), or None."""
        elapsed = time.monotonic() - self._started
        if self.max_seconds is not None and elapsed >= self.max_seconds:
            return "max_seconds", f"it reached max_seconds={self.max_seconds:g}"
        try:
            written, free = await asyncio.to_thread(_usage, self.path)
        except OSError as exc:  # the folder is gone or unreadable: nothing more can be kept
            return "disk_error", f"the recording's folder cannot be read: {exc}"
        if self.max_bytes is not None and written >= self.max_bytes:
            return "max_bytes", f"its files reached {written} bytes, max_bytes={self.max_bytes}"
        if free < self.min_free_bytes:
            return "low_disk", (
                f"only {free} bytes are free on the disk of {self.path},"
                f" under min_free_bytes={self.min_free_bytes}"
            )
        return None

    def _submit(self, job: Any, droppable: bool = False, size: int = 0) -> None:
        if self._writer is not None:
            self._writer.submit(job, droppable, size)


def _usage(folder: Path) -> tuple[int, int]:
    """The bytes of the files in ``folder``, and the bytes free on its disk.

    A file gone between the listing and its size counts for nothing: the journal's thread
    writes manifest.json as a partial file that it then renames. The folder gone raises.
    """
    written = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            with contextlib.suppress(FileNotFoundError):
                if entry.is_file():
                    written += entry.stat().st_size
    return written, shutil.disk_usage(folder).free


def _free_bytes(folder: Path) -> int:
    """The bytes free on the disk ``folder`` is (or will be) on."""
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return shutil.disk_usage(folder).free


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
