"""What the page's signaling session (js/signaling.js) holds before a welcome, run in Node
against a stand-in WebSocket: a page joins before its camera is up, and says so in a
``state`` when the camera comes; if that happens after the join went out but before the
``welcome`` came back, the ``state`` waits in the session's queue. A first welcome (or
one that did not resume us) starts a new peer: the signals held for the old links go,
but our own latest ``state`` must still go out, or the room keeps the camera off."""

from __future__ import annotations

import json
from typing import Any

from support.node import module_url, needs_node, run_module

pytestmark = needs_node

# A stand-in WebSocket: records what the page sends; the script plays the server.
SESSION_JS = """
class FakeSocket {
  static CONNECTING = 0; static OPEN = 1; static CLOSING = 2; static CLOSED = 3;
  constructor(url) {
    this.url = url; this.readyState = 0; this.sent = []; FakeSocket.all.push(this);
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close() { this.readyState = 3; }
  open() { this.readyState = 1; this.onopen?.(); }
  hear(frame) { this.onmessage?.({ data: JSON.stringify(frame) }); }
}
FakeSocket.all = [];
globalThis.WebSocket = FakeSocket;
const { SignalingSession } = await import(%(signaling)s);
const { CLOSE_DROPPED, stateMessage, signalMessage } = await import(%(protocol)s);
const target = { url: "ws://127.0.0.1:9/", shown: "ws://127.0.0.1:9/", hint: "" };
const welcomes = [];
const session = new SignalingSession(target, {
  joinMessage: (resume) =>
    ({ type: "join", room: "r", name: "bob", state: { camera: false }, resume }),
  onWelcome: (welcome) => welcomes.push(welcome.id),
  onFrame: () => {},
  onStatus: () => {},
  onFatal: () => {},
});
const welcome = (id, resumed) => ({ type: "welcome", id, resume: "t-" + id, resumed, peers: [] });
"""


def run_session(script: str) -> Any:
    names = {
        "signaling": json.dumps(module_url("signaling.js")),
        "protocol": json.dumps(module_url("protocol.js")),
    }
    return run_module(SESSION_JS % names + script)


def test_a_state_said_between_the_join_and_the_first_welcome_goes_out() -> None:
    sent = run_session(
        """
        session.connect();
        const socket = FakeSocket.all[0];
        socket.open();  // the join goes out: camera off, the camera is not up yet
        session.send(stateMessage({ camera: true, microphone: true }));  // getUserMedia resolved
        socket.hear(welcome("b1", false));
        console.log(JSON.stringify({ welcomes, sent: socket.sent }));
        """
    )
    assert sent["welcomes"] == ["b1"]
    assert [frame["type"] for frame in sent["sent"]] == ["join", "state"], sent
    assert sent["sent"][1]["state"] == {"camera": True, "microphone": True}


def test_a_new_peer_after_a_drop_sends_its_state_but_no_signal_of_the_old_links() -> None:
    sent = run_session(
        """
        session.connect();
        FakeSocket.all[0].open();
        FakeSocket.all[0].hear(welcome("b1", false));
        // The socket drops; while it is down the page signals one of its links.
        FakeSocket.all[0].readyState = 3;
        FakeSocket.all[0].onclose?.({ code: CLOSE_DROPPED, reason: "" });
        session.send(signalMessage("old-link", { sdp: "x" }));
        session.connect();  // the retry (its timer is the session's; the test does not wait)
        const again = FakeSocket.all[1];
        again.open();  // the join goes out, then the camera comes up
        session.send(stateMessage({ camera: true, microphone: true }));
        again.hear(welcome("b2", false));  // the grace window had passed: a new peer
        console.log(JSON.stringify({ welcomes, sent: again.sent }));
        session.leave();
        """
    )
    assert sent["welcomes"] == ["b1", "b2"]
    types = [frame["type"] for frame in sent["sent"]]
    assert types == ["join", "state"], sent
    assert sent["sent"][1]["state"] == {"camera": True, "microphone": True}
