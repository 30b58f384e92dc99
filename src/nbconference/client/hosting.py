"""A host's powers from Python: ``mute``, ``remove``, ``end_call``, ``make_host``, the
lobby's ``lock``, ``unlock``, ``admit`` and ``deny``, and ``breakout`` and
``end_breakout`` as coroutines, the same on a ``ConferenceWidget`` and a ``KernelPeer``.

Each goes over a signaling socket of the kernel's own, never through a browser: a
KernelPeer's (it joined the room), or for a widget a socket that names the room without
joining it (:class:`HostSocket`), authenticated with the token of the server the kernel
runs on: in the Jupyter extension that is the server's owner, who may act as a host of
every room no ``room_access`` rule names hosts for (docs/protocol.md, "Hosts"). Each
request carries an id; the server answers ``done`` or an ``error`` naming it. A
refusal because the asker is no host raises :class:`NotHost`.

Needs no aiortc.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..protocol import (
    DEFAULT_BAN_MINUTES,
    DEFAULT_BREAKOUT_MINUTES,
    MAX_BAN_MINUTES,
    MAX_BREAKOUT_MINUTES,
    MAX_GROUPS,
    MIN_BREAKOUT_MINUTES,
    ErrorCode,
    ServerFrame,
    admit_message,
    breakout_message,
    deny_message,
    end_breakout_message,
    end_call_message,
    lock_message,
    make_host_message,
    mute_message,
    remove_message,
    unlock_message,
    valid_group,
    valid_minutes,
)
from .socket import SignalingError, SignalingSocket


class NotHost(PermissionError):
    """Only a host of the room may do that: the message is the server's reason."""


class HostRequests:
    """Requests sent with ``send`` and matched to the server's answers (fed to
    :meth:`answer`); ``room`` is named in each when the socket has not joined it."""

    def __init__(self, send: Any, room: str | None = None, timeout: float = 10.0) -> None:
        self._send = send
        self.room = room
        self.timeout = timeout
        self._pending: dict[str, asyncio.Future[None]] = {}
        self._ids = itertools.count(1)

    async def ask(self, message: dict[str, Any]) -> None:
        """Send ``message`` and wait for the server to carry it out; raises
        :class:`NotHost`, :class:`SignalingError` (another refusal), ``TimeoutError`` or
        ``ConnectionError``."""
        request = f"h{next(self._ids)}"
        message = {**message, "request": request}
        if self.room is not None:
            message["room"] = self.room
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending[request] = future
        try:
            self._send(message)
            await asyncio.wait_for(asyncio.shield(future), self.timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(
                f"the signaling server did not answer '{message['type']}' within {self.timeout:g} s"
            ) from None
        finally:
            self._pending.pop(request, None)

    def answer(self, frame: dict[str, Any]) -> bool:
        """Take the server's answer to one of our requests; False for any other frame."""
        request = frame.get("request")
        future = self._pending.get(request) if isinstance(request, str) else None
        if future is None or future.done():
            return False
        kind = frame.get("type")
        if kind == ServerFrame.DONE:
            future.set_result(None)
        elif kind == ServerFrame.ERROR:
            code, message = str(frame.get("code", "")), str(frame.get("message", ""))
            if code == ErrorCode.NOT_HOST:
                future.set_exception(NotHost(message))
            else:
                future.set_exception(SignalingError(code, message))
        else:
            return False
        return True

    def end(self, why: str) -> None:
        """The socket is gone: every request still waiting fails with ``why``."""
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError(why))
        self._pending.clear()


class HostSocket:
    """A socket of the kernel's own that acts on ``room`` without joining it."""

    def __init__(self, socket: SignalingSocket, room: str, timeout: float) -> None:
        self.socket = socket
        self.requests = HostRequests(socket.send, room, timeout)
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, url: str, token: str, room: str, timeout: float = 10.0) -> HostSocket:
        return cls(await SignalingSocket.connect(url, token, timeout), room, timeout)

    @property
    def closed(self) -> bool:
        return self.socket.closed or self._reader.done()

    async def _read(self) -> None:
        while (frame := await self.socket.receive()) is not None:
            self.requests.answer(frame)
        self.requests.end(f"the signaling server closed the socket ({self.socket.why()})")

    async def close(self) -> None:
        self.requests.end("closed")
        await self.socket.aclose()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


def _peer_id(peer_id: object) -> str:
    if not isinstance(peer_id, str) or not peer_id:
        raise ValueError("peer_id must be a peer id (see .peers or .hosts)")
    return peer_id


class HostControls:
    """The host's powers, over whatever signaling socket :meth:`_host_requests` gives
    (a mixin: not an ABC, whose metaclass a widget's would clash with)."""

    async def _host_requests(self) -> HostRequests:
        """The requests of this object's own signaling socket (opened if need be)."""
        raise NotImplementedError

    async def mute(self, peer_id: str, microphone: bool = True, camera: bool = False) -> None:
        """Turn ``peer_id``'s microphone (and/or camera) off. Their page says who muted
        them, and only they can turn it back on; every receiver stops playing it
        meanwhile. Raises :class:`NotHost` unless we may act as a host of the room."""
        if not (microphone or camera):
            raise ValueError("mute the microphone, the camera or both")
        message = mute_message(_peer_id(peer_id), bool(microphone), bool(camera))
        await (await self._host_requests()).ask(message)

    async def remove(self, peer_id: str, ban_minutes: float = DEFAULT_BAN_MINUTES) -> None:
        """Remove ``peer_id`` from the call: their page says why and does not reconnect,
        and their identity may not rejoin for ``ban_minutes`` (0: at once; a connection
        that names nobody is closed for good, and may only join anew). Raises
        :class:`NotHost` unless we may act as a host of the room."""
        if isinstance(ban_minutes, bool) or not isinstance(ban_minutes, int | float):
            raise ValueError("ban_minutes must be a number of minutes")
        if not math.isfinite(ban_minutes) or not 0 <= ban_minutes <= MAX_BAN_MINUTES:
            raise ValueError(f"ban_minutes must be from 0 to {MAX_BAN_MINUTES:g}")
        message = remove_message(_peer_id(peer_id), float(ban_minutes))
        await (await self._host_requests()).ask(message)

    async def end_call(self) -> None:
        """End the call for everyone in the room (every page stops, and says why).
        Raises :class:`NotHost` unless we may act as a host of the room."""
        await (await self._host_requests()).ask(end_call_message())

    async def make_host(self, peer_id: str) -> None:
        """Make ``peer_id`` a host of the room too. Raises :class:`NotHost` unless we
        may act as a host of the room."""
        await (await self._host_requests()).ask(make_host_message(_peer_id(peer_id)))

    # -- the lobby (docs/protocol.md, "The lobby") --------------------------------------

    async def lock(self) -> None:
        """Lock the room: from now on a newcomer who is no host waits in the lobby, and
        learns nothing of the room (no names, no media, no chat) until a host lets them
        in (:meth:`admit`). Raises :class:`NotHost` unless we may act as a host."""
        await (await self._host_requests()).ask(lock_message())

    async def unlock(self) -> None:
        """Unlock the room: newcomers come straight in, and so does everyone waiting.
        Raises :class:`NotHost` unless we may act as a host of the room."""
        await (await self._host_requests()).ask(unlock_message())

    async def admit(self, peer_id: str) -> None:
        """Let ``peer_id`` (an ``id`` of :attr:`lobby`) into the room. Raises
        :class:`NotHost` unless we may act as a host of the room, and
        :class:`~nbconference.client.SignalingError` (``unknown-peer``) when nobody by
        that id waits."""
        await (await self._host_requests()).ask(admit_message(_peer_id(peer_id)))

    async def deny(self, peer_id: str) -> None:
        """Do not let ``peer_id`` in: their page says so and does not try again. Raises
        :class:`NotHost` unless we may act as a host of the room."""
        await (await self._host_requests()).ask(deny_message(_peer_id(peer_id)))

    # -- breakout rooms (docs/protocol.md, "Breakout rooms") ----------------------------

    async def breakout(
        self,
        groups: Mapping[str, Sequence[str]] | None = None,
        minutes: float = DEFAULT_BREAKOUT_MINUTES,
        *,
        n_groups: int | None = None,
    ) -> None:
        """Split the room into breakout groups for ``minutes``: ``groups`` maps each
        group's name (1-16 of A-Z a-z 0-9 _ -) to the peer ids to put in it (see
        :attr:`peers`), or ``n_groups`` has the server deal the participants (hosts and
        recorders stay) into ``group-1`` ... ``group-N``. Each page moves to its group by
        itself, shows a countdown, and comes back when the time is up or at
        :meth:`end_breakout`. Raises :class:`NotHost` unless we may act as a host, and
        :class:`~nbconference.client.SignalingError` for peers the room does not have."""
        if (groups is None) == (n_groups is None):
            raise ValueError("give the groups, or n_groups, not both")
        if not valid_minutes(minutes):
            raise ValueError(
                f"minutes must be from {MIN_BREAKOUT_MINUTES:.3g} (a second) to "
                f"{MAX_BREAKOUT_MINUTES:g}"
            )
        if n_groups is not None:
            if isinstance(n_groups, bool) or not isinstance(n_groups, int):
                raise ValueError("n_groups must be a whole number")
            if not 1 <= n_groups <= MAX_GROUPS:
                raise ValueError(f"n_groups must be from 1 to {MAX_GROUPS}")
        else:
            assert groups is not None
            if not isinstance(groups, Mapping) or not groups:
                raise ValueError("groups must map each group's name to a list of peer ids")
            for name, peers in groups.items():
                if not valid_group(name):
                    raise ValueError(f"group name {name!r} must be 1-16 of A-Z a-z 0-9 _ -")
                if isinstance(peers, str) or not peers:
                    raise ValueError(f"group {name!r} must list at least one peer id")
                for peer in peers:
                    _peer_id(peer)
        message = breakout_message(groups, n_groups, float(minutes))
        await (await self._host_requests()).ask(message)

    async def end_breakout(self) -> None:
        """End the breakout now: everyone comes back to the main room (nothing happens
        when none runs). Raises :class:`NotHost` unless we may act as a host."""
        await (await self._host_requests()).ask(end_breakout_message())


def breakout_groups(frame: Mapping[str, Any]) -> dict[str, list[str]]:
    """A ``breakouts`` frame as Python shows it: each group's name and the peer ids a
    host put in it (``{}`` when none runs)."""
    found = frame.get("groups")
    groups: dict[str, list[str]] = {}
    for name, peers in found.items() if isinstance(found, dict) else ():
        if valid_group(name) and isinstance(peers, list):
            groups[name] = [peer for peer in peers if isinstance(peer, str)]
    return groups


def lobby_records(frame: Mapping[str, Any]) -> tuple[bool, list[dict[str, Any]]]:
    """A ``lobby`` frame as Python shows it: whether the room is locked, and who waits
    (``id``, ``name``, ``username`` and ``waiting_since`` in seconds since 1970), first
    come first."""
    found = frame.get("waiting")
    waiting = []
    for entry in found if isinstance(found, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        since = entry.get("waiting_since")
        if isinstance(since, bool) or not isinstance(since, int | float):
            since = None
        waiting.append(
            {
                "id": entry["id"],
                "name": str(entry.get("name") or ""),
                "username": str(entry.get("username") or ""),
                "waiting_since": since / 1000 if since is not None else None,
            }
        )
    return frame.get("locked") is True, waiting


__all__ = [
    "HostControls",
    "HostRequests",
    "HostSocket",
    "NotHost",
    "breakout_groups",
    "lobby_records",
]
