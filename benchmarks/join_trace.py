"""``benchmarks/join.py --trace``: where a page's join goes, below the widget's timeline.

An init script in every page notes, in epoch ms:

- each RTCPeerConnection's life: created, each offer/answer call and its end, signaling,
  ICE and connection states;
- ``getUserMedia`` and the Web Lock request, from the call to the answer;
- the frames of the page's signaling socket (joined, welcome, offers, answers);
- the page's kernel channel: every message in and out, with its size, so the widget's
  code (the first message larger than ``BUNDLE_BYTES``) and the reports to the kernel
  can be counted.

:func:`summary` reduces the pages of a round to medians: start to the widget's code, code
to render, render to the last connection and to the full mesh, each link's steps after its
connection was made, the camera's ``getUserMedia``, and the kernel messages a page sent
and received between the start and its full mesh. Both trees of a comparison run the
same script, so it works on any tree (the timeline needs js/timeline.js; this does not).
"""

from __future__ import annotations

import statistics
from typing import Any

# A kernel message larger than this is the widget's code (anywidget's _esm in the state).
BUNDLE_BYTES = 50_000

TRACE_JS = """
(() => {
  if (window !== window.top || window.__nbcTrace) return;
  const now = () => performance.timeOrigin + performance.now();
  const trace = { events: [], kernel: [] };
  window.__nbcTrace = trace;
  const note = (who, what) => trace.events.push([now(), who, what]);
  let made = 0;
  const Native = window.RTCPeerConnection;
  const Traced = function (...args) {
    const pc = new Native(...args);
    const who = `pc${made++}`;
    pc.__nbcTrace = who;
    note(who, "new");
    for (const [event, read] of [
      ["signalingstatechange", () => `signaling:${pc.signalingState}`],
      ["iceconnectionstatechange", () => `ice:${pc.iceConnectionState}`],
      ["connectionstatechange", () => `connection:${pc.connectionState}`],
    ]) pc.addEventListener(event, () => note(who, read()));
    return pc;
  };
  Traced.prototype = Native.prototype;
  Object.setPrototypeOf(Traced, Native);
  window.RTCPeerConnection = Traced;
  for (const method of ["setLocalDescription", "setRemoteDescription"]) {
    const original = Native.prototype[method];
    Native.prototype[method] = function (...args) {
      const what = `${method}${args[0]?.type ? ":" + args[0].type : ""}`;
      note(this.__nbcTrace, what);
      const result = original.apply(this, args);
      result?.then?.(() => note(this.__nbcTrace, `${what} done`), () => {});
      return result;
    };
  }
  const devices = navigator.mediaDevices;
  if (devices) {
    const getUserMedia = devices.getUserMedia.bind(devices);
    devices.getUserMedia = async (constraints) => {
      note("page", "getUserMedia");
      try { return await getUserMedia(constraints); } finally { note("page", "getUserMedia done"); }
    };
  }
  if (window.LockManager) {
    const request = LockManager.prototype.request;
    LockManager.prototype.request = function (name, options, callback) {
      if (!String(name).startsWith("nbconference") || typeof callback !== "function") {
        return request.apply(this, arguments);
      }
      note("page", "lock");
      const granted = (lock) => (note("page", "lock done"), callback(lock));
      return request.call(this, name, options, granted);
    };
  }
  const NativeSocket = window.WebSocket;
  const TracedSocket = function (...args) {
    const socket = new NativeSocket(...args);
    const url = String(args[0]);
    const size = (data) => data?.byteLength ?? data?.length ?? data?.size ?? 0;
    if (url.includes("/channels")) {
      const send = socket.send.bind(socket);
      socket.send = (data) => (trace.kernel.push([now(), "out", size(data)]), send(data));
      socket.addEventListener("message", (e) => trace.kernel.push([now(), "in", size(e.data)]));
    } else if (url.includes("nbconference")) {
      note("signaling", "open");
      const kind = (text) => {
        try {
          const frame = JSON.parse(text);
          const description = frame.data?.description?.type ?? frame.data?.type;
          return description ? `${frame.type}:${description}` : frame.type;
        } catch { return "?"; }
      };
      socket.addEventListener("open", () => note("signaling", "opened"));
      socket.addEventListener("message", (e) => note("signaling", `in ${kind(e.data)}`));
      const send = socket.send.bind(socket);
      socket.send = (data) => (note("signaling", `out ${kind(data)}`), send(data));
    }
    return socket;
  };
  TracedSocket.prototype = NativeSocket.prototype;
  Object.setPrototypeOf(TracedSocket, NativeSocket);
  window.WebSocket = TracedSocket;
})();
"""


def page_figures(
    trace: dict[str, Any], rendered: float, mesh: float, start: float
) -> dict[str, Any]:
    """One page's join in seconds, from its trace (epoch ms), its render and full mesh."""

    def s(ms: float) -> float:
        return round(ms / 1000, 3)

    first: dict[tuple[str, str], float] = {}
    for at, who, what in trace["events"]:
        first.setdefault((who, what), at)
    links = sorted({who for who, _ in first if who.startswith("pc")})
    steps: dict[str, list[float]] = {}
    for link in links:
        made = first[(link, "new")]
        for what in ("ice:connected", "connection:connected"):
            if (link, what) in first:
                steps.setdefault(f"link new -> {what}", []).append(s(first[(link, what)] - made))
    connected = [
        first[(k, "connection:connected")] for k in links if (k, "connection:connected") in first
    ]
    code = [
        at
        for at, way, size in trace["kernel"]
        if way == "in" and size > BUNDLE_BYTES and at >= start - 100
    ]
    until_mesh = [m for m in trace["kernel"] if start <= m[0] <= mesh]

    def between(a: tuple[str, str], b: tuple[str, str]) -> float | None:
        return s(first[b] - first[a]) if a in first and b in first else None

    return {
        "start -> widget code": s(code[0] - start) if code else None,
        "widget code -> render": s(rendered - code[0]) if code else None,
        "render -> last connection": s(max(connected) - rendered) if connected else None,
        "last connection -> mesh": s(mesh - max(connected)) if connected else None,
        "lock": between(("page", "lock"), ("page", "lock done")),
        "getUserMedia": between(("page", "getUserMedia"), ("page", "getUserMedia done")),
        "render -> signaling open": s(first[("signaling", "open")] - rendered)
        if ("signaling", "open") in first
        else None,
        "join -> welcome": between(("signaling", "out join"), ("signaling", "in welcome")),
        **{k: statistics.median(v) for k, v in steps.items()},
        "kernel messages out": sum(1 for m in until_mesh if m[1] == "out"),
        "kernel messages in": sum(1 for m in until_mesh if m[1] == "in"),
        "kernel KiB in": round(sum(m[2] for m in until_mesh if m[1] == "in") / 1024, 1),
    }


def summary(pages: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over pages (and rounds) of :func:`page_figures`."""
    keys = dict.fromkeys(k for page in pages for k in page)
    result = {}
    for key in keys:
        found = [p[key] for p in pages if p.get(key) is not None]
        if found:
            result[key] = round(statistics.median(found), 3)
    return result
