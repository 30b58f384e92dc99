"""A host's powers in real JupyterLab pages (issue 22), each test a meeting of two: the
first to join hosts; a page that is not a host is refused; the host mutes the other from
the tile's menu, the receiver stops getting (and playing) the voice, the muted page says
who did it and its own button brings the sound back; the host's notebook code removes
them, and that page says why and does not reconnect. The lobby: the host locks the room
from the page, a newcomer's page waits with nothing of the room (no peer connection, no
name), the host's page shows them waiting (with a chime) and admits them, and media
flows both ways."""

from __future__ import annotations

import time
from typing import Any

from support import devices
from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import wait_for_full_mesh
from support.pages import Participant
from support.polling import wait_until
from support.probes import CONFERENCE_JS, voice_flows
from support.timeouts import TIMEOUT

# What a page shows of hosts: the tags on its tiles, its host menus, its host buttons,
# and the line a host's mute puts up.
HOSTS_JS = """
() => {
  const root = document.querySelector(".nbc-root");
  const tiles = Array.from(root.querySelectorAll(".nbc-tile"));
  return {
    tagged: tiles.filter((t) => t.querySelector(".nbc-host-tag")).map((t) => t.dataset.peerId),
    menus: tiles.filter((t) => t.querySelector('[data-action="host-menu"]'))
      .map((t) => t.dataset.peerId),
    endCall: !root.querySelector('[data-action="end-call"]').hidden,
    muted: root.querySelector(".nbc-host-mute").hidden
      ? "" : root.querySelector(".nbc-host-mute").textContent,
    notice: root.querySelector(".nbc-notice").textContent,
    status: root.dataset.status,
    text: root.querySelector(".nbc-status").textContent,
  };
}
"""

# Whether the page plays a peer's voice: its <audio> element, muted or not.
SINK_JS = f"""(id) => {{
  const sink = {CONFERENCE_JS}.audio.sinks.get(id);
  return sink ? {{ muted: sink.muted, playing: !sink.paused }} : null;
}}"""


def hosts(person: Participant) -> dict[str, Any]:
    shown: dict[str, Any] = person.js(HOSTS_JS)
    return shown


def test_a_host_mutes_and_removes_and_nobody_else_may(meeting: Meeting) -> None:
    room = meeting.room()
    # Ada joins first, so that she is the room's first verified identity: its host.
    (ada,) = meeting.open([("ada", widget_cells(room, "ada"))])
    wait_for_join(ada)
    (bob,) = meeting.open([("bob", widget_cells(room, "bob"))])
    wait_for_join(bob)
    wait_for_full_mesh([ada, bob])
    ada_name = ada.identity()["display_name"]

    # The server marks Ada on both pages and in both kernels; only her page has the
    # host's controls.
    wait_until(lambda: hosts(bob)["tagged"] == [ada.peer_id], TIMEOUT, "Ada's tag at Bob's")
    shown = hosts(ada)
    assert (shown["tagged"], shown["menus"], shown["endCall"]) == (
        [ada.peer_id],
        [bob.peer_id],
        True,
    )
    shown = hosts(bob)
    assert (shown["menus"], shown["endCall"]) == ([], False)
    wait_until(lambda: bob.value("w.hosts") == [ada.peer_id], TIMEOUT, "Bob's w.hosts")
    assert ada.value("w.hosts") == [ada.peer_id]
    assert [p["host"] for p in ada.value("w.peers")] == [False]

    # Bob is no host: the server refuses his mute, says why, and Ada's voice goes on.
    bob.js(f"(id) => {CONFERENCE_JS}.mute(id, {{ microphone: true }})", ada.peer_id)
    wait_until(
        lambda: "only a host of room" in hosts(bob)["notice"], TIMEOUT, "Bob told he is no host"
    )
    assert voice_flows(bob, ada) and hosts(ada)["muted"] == ""

    # Ada mutes Bob from his tile's menu.
    tile = ada.page.locator(f'.nbc-tile[data-peer-id="{bob.peer_id}"]')
    tile.locator('[data-action="host-menu"]').click()
    tile.locator('[data-action="host-mute"]').click()
    wait_until(
        lambda: hosts(bob)["muted"].startswith(f"Muted by {ada_name}: your microphone is off."),
        TIMEOUT,
        "Bob's page to say who muted him",
    )
    assert "Only you can turn it back on" in hosts(bob)["muted"]
    # No more of his voice reaches Ada, and her page would not play it if it did.
    wait_until(lambda: not voice_flows(ada, bob), TIMEOUT, "Bob's voice to stop at Ada's")
    assert not voice_flows(ada, bob, over=1.5)
    assert ada.js(SINK_JS, bob.peer_id)["muted"] is True
    wait_until(
        lambda: [p["microphone"] for p in ada.value("w.peers")] == [False],
        TIMEOUT,
        "Ada's kernel to see Bob muted",
    )

    # Bob's own button brings it back: at Ada's it flows and plays again.
    bob.page.locator('.nbc-button[data-action="microphone"]').click()
    wait_until(lambda: voice_flows(ada, bob), TIMEOUT, "Bob's voice back at Ada's")
    wait_until(lambda: ada.js(SINK_JS, bob.peer_id)["muted"] is False, TIMEOUT, "Bob heard")
    assert hosts(bob)["muted"] == ""

    # Ada's notebook removes Bob over the kernel's own socket (the server's owner).
    bob.js(
        f"""() => {{
          const signaling = {CONFERENCE_JS}.signaling.testHook;
          window.__kept = {{ signaling, sockets: signaling.sockets }};
        }}"""
    )
    ada.run(f"await w.remove({bob.peer_id!r})")
    said = "removed you from the call; you may rejoin in 10 minutes."
    wait_until(lambda: said in hosts(bob)["text"], TIMEOUT, "Bob's page to say why")
    assert hosts(bob)["status"] == "error"
    wait_until(lambda: ada.value("w.peers") == [], TIMEOUT, "Bob gone from Ada's kernel")
    # It does not reconnect: past the first retry's backoff, its socket stays closed.
    time.sleep(2.0)
    kept = bob.js(
        "() => ({ socket: window.__kept.signaling.readyState,"
        " more: window.__kept.signaling.sockets - window.__kept.sockets })"
    )
    assert kept == {"socket": 3, "more": 0}
    assert hosts(bob)["status"] == "error"


# Every RTCPeerConnection the page makes, and every tone it plays (the lobby's chime),
# from before the widget loads.
WATCH_JS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      window.__pcs.push(this);
    }
  };
  window.__tones = 0;
  const oscillator = AudioContext.prototype.createOscillator;
  AudioContext.prototype.createOscillator = function () {
    window.__tones += 1;
    return oscillator.call(this);
  };
})();
"""

# Video the page decodes from anyone, over every peer connection it ever made.
INBOUND_VIDEO_JS = """
async () => {
  let streams = 0, frames = 0;
  for (const pc of window.__pcs) {
    if (pc.connectionState === "closed") continue;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") {
        streams += 1;
        frames += s.framesDecoded || 0;
      }
    });
  }
  return { connections: window.__pcs.length, streams, frames };
}
"""

# What a page shows of the lobby.
LOBBY_JS = """
() => {
  const root = document.querySelector(".nbc-root");
  const panel = root.querySelector(".nbc-lobby");
  const lock = root.querySelector('[data-action="lock"]');
  return {
    status: root.dataset.status,
    text: root.querySelector(".nbc-status").textContent,
    widget: root.textContent,
    waitingNotice: root.querySelector(".nbc-waiting").hidden
      ? "" : root.querySelector(".nbc-waiting").textContent,
    tiles: Array.from(root.querySelectorAll(".nbc-tile"))
      .map((t) => ({ local: t.classList.contains("nbc-local"), peer: t.dataset.peerId ?? "" })),
    count: panel.hidden ? "" : panel.querySelector(".nbc-lobby-count").textContent,
    waiting: panel.hidden ? [] : Array.from(panel.querySelectorAll(".nbc-lobby-name"))
      .map((name) => name.textContent),
    lock: lock.hidden ? null : lock.getAttribute("aria-label"),
    tones: window.__tones,
  };
}
"""


def lobby(person: Participant) -> dict[str, Any]:
    shown: dict[str, Any] = person.js(LOBBY_JS)
    return shown


def test_a_host_locks_the_room_and_lets_a_newcomer_in_from_the_page(meeting: Meeting) -> None:
    room = meeting.room()
    # Both pages load at once; Bob's waits on its pre-join panel until Ada has locked.
    ada, bob = meeting.open(
        [("ada", widget_cells(room, "ada")), ("bob", widget_cells(room, "bob", prejoin=True))],
        init_script=WATCH_JS,
    )
    wait_for_join(ada)
    assert lobby(ada)["lock"] == "Lock the room"
    ada.page.locator('.nbc-button[data-action="lock"]').click()
    wait_until(lambda: lobby(ada)["lock"] == "Unlock the room", TIMEOUT, "Ada's room locked")

    devices.wait_for_prejoin(bob)
    devices.click_prejoin(bob, "Join")
    wait_until(lambda: lobby(bob)["status"] == "waiting", TIMEOUT, "Bob to wait in the lobby")
    bob_name = bob.identity()["display_name"]
    # Ada's page shows him waiting, with a count, and rang.
    wait_until(lambda: lobby(ada)["waiting"] == [bob_name], TIMEOUT, "Bob in Ada's lobby")
    shown = lobby(ada)
    assert shown["count"] == "1 person is waiting to join" and shown["tones"] > 0

    # Bob's page: his own preview, the sentence, no name of anyone in the room, and no
    # media from anyone (it has not even made a peer connection).
    shown = lobby(bob)
    assert shown["waitingNotice"] == "Waiting for a host to let you in…"
    assert "is locked" in shown["text"] and shown["lock"] is None
    assert shown["tiles"] == [{"local": True, "peer": ""}]
    assert ada.identity()["display_name"] not in shown["widget"]
    time.sleep(1.0)  # long enough for media to flow, were any sent
    assert bob.js(INBOUND_VIDEO_JS) == {"connections": 0, "streams": 0, "frames": 0}
    # The kernels: Ada's w.lobby names him; Bob's widget waits, and knows of nobody.
    wait_until(
        lambda: [entry["name"] for entry in ada.value("w.lobby")] == [bob_name],
        TIMEOUT,
        "Ada's w.lobby",
    )
    assert bob.value("[w.status, w.peers, w.lobby]") == ["waiting", [], []]

    # Ada lets him in from the page: he joins, and media flows both ways.
    ada.page.get_by_role("button", name=f"Admit {bob_name}", exact=True).click()
    wait_for_join(bob)
    wait_for_full_mesh([ada, bob])
    wait_until(lambda: lobby(ada)["waiting"] == [], TIMEOUT, "Ada's lobby to empty")
    assert lobby(bob)["waitingNotice"] == ""
