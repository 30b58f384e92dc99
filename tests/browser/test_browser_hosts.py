"""A host's powers in real JupyterLab pages (issue 22), in one meeting of two: the first
to join hosts; a page that is not a host is refused; the host mutes the other from the
tile's menu, the receiver stops getting (and playing) the voice, the muted page says who
did it and its own button brings the sound back; the host's notebook code removes them,
and that page says why and does not reconnect."""

from __future__ import annotations

import time
from typing import Any

from support import probes
from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import wait_for_full_mesh
from support.pages import Participant
from support.polling import wait_until
from support.probes import CONFERENCE_JS
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


def audio_packets(receiver: Participant, sender: Participant) -> int:
    got = probes.media(receiver).get(sender.peer_id)
    return got.audio_packets if got else 0


def voice_flows(receiver: Participant, sender: Participant, over: float = 1.0) -> bool:
    """Whether ``receiver`` gets new audio packets from ``sender`` within ``over`` s."""
    before = audio_packets(receiver, sender)
    time.sleep(over)
    return audio_packets(receiver, sender) > before


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
