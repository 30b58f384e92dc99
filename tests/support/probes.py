"""What the tests read from a page: per-peer media stats, tiles, and timing monitors.

Everything goes through the test hook the widget always installs,
``globalThis.__nbconference.conferences`` (instance id → Conference), and the DOM.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .pages import Participant

# One entry per conference on the page; per remote peer the inbound video streams, the
# audio packets received, the outbound video streams and the bytes sent, straight from
# RTCPeerConnection.getStats().
MEDIA_JS = """
async () => {
  const hook = globalThis.__nbconference;
  if (!hook || !hook.conferences) return [];
  const result = [];
  for (const [instanceId, conference] of hook.conferences) {
    const peers = {};
    for (const [peerId, session] of conference.peers) {
      const pc = session.pc;
      const entry = {
        connection: pc ? pc.connectionState : null, video: [], audioPackets: 0,
        via: session.via ?? "direct",
        sent: [], bytesSent: 0,
      };
      if (pc && pc.connectionState !== "closed") {
        // On a mesh link the first video m-line carries the camera, later ones screen
        // shares; an SFU feed names its own mids on the shared subscriber connection.
        const firstVideo = pc.getTransceivers().find((t) => t.receiver.track.kind === "video");
        const sfu = session.via === "sfu";
        const cameraMid = sfu ? session.cameraMid : (firstVideo?.mid ?? null);
        const mids = sfu ? session.mids : null;
        const report = await pc.getStats();
        report.forEach((s) => {
          if (mids && (s.type === "inbound-rtp" || s.type === "outbound-rtp") && !mids.has(s.mid)) {
            return;
          }
          if (s.type === "outbound-rtp") {
            entry.bytesSent += s.bytesSent || 0;
            if (s.kind === "video") {
              entry.sent.push({
                mid: s.mid ?? null, camera: s.mid === cameraMid,
                framesEncoded: s.framesEncoded || 0, fps: s.framesPerSecond || 0,
                width: s.frameWidth || 0, height: s.frameHeight || 0,
                limitation: s.qualityLimitationReason ?? null,
              });
            }
            return;
          }
          if (s.type !== "inbound-rtp") return;
          if (s.kind === "video") {
            entry.video.push({
              mid: s.mid ?? null, camera: s.mid === cameraMid, framesDecoded: s.framesDecoded || 0,
              fps: s.framesPerSecond || 0, width: s.frameWidth || 0, height: s.frameHeight || 0,
            });
          } else if (s.kind === "audio") {
            entry.audioPackets += s.packetsReceived || 0;
          }
        });
      }
      peers[peerId] = entry;
    }
    result.push({ instanceId, id: conference.id, status: conference.status, peers });
  }
  return result;
}
"""

TILES_JS = """
(root) => Array.from(document.querySelectorAll(".nbc-root .nbc-tile")).map((tile) => ({
  peerId: tile.dataset.peerId ?? null,
  local: tile.classList.contains("nbc-local"),
  screen: tile.classList.contains("nbc-screen"),
  camera: tile.dataset.camera ?? null,
  microphone: tile.dataset.microphone ?? null,
  connection: tile.dataset.connection ?? null,
  instanceId: tile.closest(".nbc-root")?.dataset.instanceId ?? null,
  name: tile.querySelector(".nbc-name")?.textContent ?? null,
  avatar: tile.querySelector(".nbc-avatar")?.textContent ?? null,
  avatarColor: (() => {
    const avatar = tile.querySelector(".nbc-avatar");
    return avatar ? getComputedStyle(avatar).backgroundColor : null;
  })(),
}))
"""

ROOTS_JS = """
() => Array.from(document.querySelectorAll(".nbc-root")).map((root) => ({
  status: root.dataset.status ?? null,
  peerId: root.dataset.peerId ?? null,
  instanceId: root.dataset.instanceId ?? null,
  elsewhere: root.dataset.elsewhere === "true",
  text: root.querySelector(".nbc-status")?.textContent ?? "",
}))
"""


@dataclass(frozen=True)
class Sent:
    """What one page sends one remote peer on one video stream (outbound-rtp)."""

    frames_encoded: int
    fps: float
    width: int  # as encoded, 0 before the first frame
    height: int
    limitation: str | None  # qualityLimitationReason: none, cpu, bandwidth, other


@dataclass(frozen=True)
class PeerMedia:
    """What one page receives from one remote peer, and sends it."""

    connection: str | None
    camera_frames: int  # framesDecoded of the camera stream
    camera_fps: float
    screen_frames: dict[str, int]  # framesDecoded of each screen share stream, by mid
    audio_packets: int
    camera_size: tuple[int, int] = (0, 0)  # width, height of the camera as decoded
    screen_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # by mid
    camera_sent: Sent | None = None  # our camera towards this peer
    screen_sent: Sent | None = None  # our screen share towards this peer
    bytes_sent: int = 0  # every outbound stream to this peer, since the link started
    via: str = "direct"  # a mesh link of its own, or "sfu"

    @property
    def decoding_video(self) -> bool:
        return self.camera_frames > 0


def conferences(participant: Participant) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = participant.js(MEDIA_JS)
    return result


def media(participant: Participant) -> dict[str, PeerMedia]:
    """Per remote peer id, what this participant's joined conference receives."""
    joined = [c for c in conferences(participant) if c["status"] == "joined"]
    assert len(joined) <= 1, f"{participant.name} has {len(joined)} joined conferences"
    if not joined:
        return {}
    result = {}
    for peer_id, entry in joined[0]["peers"].items():
        camera = next((v for v in entry["video"] if v["camera"]), None)
        screens = [v for v in entry["video"] if not v["camera"]]
        result[peer_id] = PeerMedia(
            connection=entry["connection"],
            camera_frames=camera["framesDecoded"] if camera else 0,
            camera_fps=camera["fps"] if camera else 0.0,
            screen_frames={v["mid"]: v["framesDecoded"] for v in screens},
            audio_packets=entry["audioPackets"],
            camera_size=(camera["width"], camera["height"]) if camera else (0, 0),
            screen_sizes={v["mid"]: (v["width"], v["height"]) for v in screens},
            camera_sent=_sent(next((v for v in entry["sent"] if v["camera"]), None)),
            screen_sent=_sent(next((v for v in entry["sent"] if not v["camera"]), None)),
            bytes_sent=entry["bytesSent"],
            via=entry["via"],
        )
    return result


def audio_packets(receiver: Participant, sender: Participant) -> int:
    """The audio packets ``receiver`` got from ``sender`` so far (mesh or SFU)."""
    got = media(receiver).get(sender.peer_id)
    return got.audio_packets if got else 0


def voice_flows(receiver: Participant, sender: Participant, over: float = 1.0) -> bool:
    """Whether ``receiver`` gets new audio packets from ``sender`` within ``over`` s."""
    before = audio_packets(receiver, sender)
    time.sleep(over)
    return audio_packets(receiver, sender) > before


def _sent(stream: dict[str, Any] | None) -> Sent | None:
    if stream is None:
        return None
    return Sent(
        stream["framesEncoded"],
        stream["fps"],
        stream["width"],
        stream["height"],
        stream["limitation"],
    )


def roots(participant: Participant) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = participant.js(ROOTS_JS)
    return result


def tiles(participant: Participant) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = participant.js(TILES_JS)
    return result


def registry(participant: Participant) -> dict[str, str]:
    """Every widget model this page knows, shown or not: instance id → its status."""
    script = """() => Object.fromEntries([...(globalThis.__nbconference?.conferences ?? [])]
        .map(([id, conference]) => [id, conference.status]))"""
    result: dict[str, str] = participant.js(script)
    return result


# Installed before Lab loads (``init_script``): counts what the page starts on its own,
# calls of getUserMedia and nbconference signaling sockets, in ``window.__nbcStarts``.
COUNT_STARTS_JS = """
(() => {
  if (window.__nbcStarts) return;
  const starts = { getUserMedia: 0, sockets: 0 };
  window.__nbcStarts = starts;
  const devices = navigator.mediaDevices;
  if (devices) {
    const getUserMedia = devices.getUserMedia.bind(devices);
    devices.getUserMedia = (constraints) => {
      starts.getUserMedia += 1;
      return getUserMedia(constraints);
    };
  }
  window.WebSocket = new Proxy(window.WebSocket, {
    construct(target, args, newTarget) {
      if (String(args[0]).includes("/nbconference/")) starts.sockets += 1;
      return Reflect.construct(target, args, newTarget);
    },
  });
})();
"""


def starts(participant: Participant) -> dict[str, int]:
    """What the page has started so far (needs :data:`COUNT_STARTS_JS` installed)."""
    counted: dict[str, int] = participant.js("() => ({ ...window.__nbcStarts })")
    return counted


def joined_peer_id(participant: Participant) -> str | None:
    """The participant's own peer id once its widget says it joined."""
    for root in roots(participant):
        if root["status"] == "joined" and root["peerId"]:
            return str(root["peerId"])
    return None


# Installed before Lab loads (page.add_init_script): wall-clock times (ms since the
# epoch, comparable across pages) of the first .nbc-root in the page, of "joined", and per
# remote peer of its first sighting, its connection reaching "connected" and the first
# decoded video frame from it (on a mesh link or through the SFU).
TIMING_MONITOR_JS = """
(() => {
  if (window !== window.top || window.__nbcTimes) return;
  const now = () => performance.timeOrigin + performance.now();
  const times = { rendered: null, joined: null, peerSeen: {}, connected: {}, firstFrame: {} };
  window.__nbcTimes = times;
  const observer = new MutationObserver(() => {
    if (document.querySelector(".nbc-root")) {
      times.rendered = now();
      observer.disconnect();
    }
  });
  const options = { childList: true, subtree: true };
  const watch = () => observer.observe(document.documentElement, options);
  if (document.documentElement) watch();
  else document.addEventListener("DOMContentLoaded", watch);
  let busy = false;
  setInterval(async () => {
    const hook = globalThis.__nbconference;
    if (busy || !hook || !hook.conferences) return;
    busy = true;
    try {
      for (const conference of hook.conferences.values()) {
        if (times.joined === null && conference.status === "joined") times.joined = now();
        for (const [peerId, session] of conference.peers) {
          times.peerSeen[peerId] ??= now();
          if (!session.pc) continue;
          if (session.pc.connectionState === "connected") times.connected[peerId] ??= now();
          if (peerId in times.firstFrame) continue;
          // The video receivers' stats only: a whole-connection getStats() from every
          // page this often would take the CPU the connections being timed need. An SFU
          // feed shares its connection with every other: only its camera's line is its own.
          const receivers = session.via === "sfu"
            ? [session.lines?.camera?.receiver].filter(Boolean)
            : session.pc.getReceivers();
          for (const receiver of receivers) {
            if (receiver.track.kind !== "video") continue;
            (await receiver.getStats()).forEach((s) => {
              if (s.type === "inbound-rtp" && s.framesDecoded > 0) {
                times.firstFrame[peerId] ??= now();
              }
            });
          }
        }
      }
    } finally {
      busy = false;
    }
  }, 50);
})();
"""


# The page's joined conference, for the few actions a test starts without a button.
CONFERENCE_JS = """
(() => {
  const all = [...(globalThis.__nbconference?.conferences?.values() ?? [])];
  const joined = all.filter((c) => c.status === "joined");
  if (joined.length !== 1) throw new Error(`${joined.length} joined conferences, not one`);
  return joined[0];
})()
"""


def call(participant: Participant, method: str) -> Any:
    """Call ``conference.<method>()`` on the page's joined conference (awaited)."""
    return participant.js(f"async () => await {CONFERENCE_JS}.{method}()")


def signaling_state(participant: Participant, peer_id: str) -> str | None:
    """signalingState of the connection to ``peer_id`` ("stable", "have-local-offer"...)."""
    script = f"(id) => {CONFERENCE_JS}.peers.get(id)?.pc.signalingState ?? null"
    state: str | None = participant.js(script, peer_id)
    return state


def live_camera_tracks(participant: Participant) -> int:
    """Live video tracks in the local stream: 0 means the camera is really released."""
    script = f"""() => {CONFERENCE_JS}.localStream.getVideoTracks()
        .filter((t) => t.readyState === "live").length"""
    count: int = participant.js(script)
    return count


# Holds the page's outgoing signal frames until released, so that two peers' offers
# made in the meantime cross ("glare"), as they would over a slow network.
HOLD_SIGNALS_JS = """
() => {
  if (!globalThis.__nbcHold) {
    const send = WebSocket.prototype.send;
    const hold = { on: false, held: [] };
    WebSocket.prototype.send = function (data) {
      if (hold.on && typeof data === "string") {
        try {
          if (JSON.parse(data).type === "signal") {
            hold.held.push([this, data]);
            return;
          }
        } catch {}
      }
      return send.call(this, data);
    };
    hold.release = () => {
      hold.on = false;
      for (const [socket, data] of hold.held.splice(0)) send.call(socket, data);
    };
    globalThis.__nbcHold = hold;
  }
  globalThis.__nbcHold.on = true;
}
"""

RELEASE_SIGNALS_JS = (
    "() => { const n = globalThis.__nbcHold.held.length; "
    "globalThis.__nbcHold.release(); return n; }"
)


# Makes the page look like a hidden tab, or a visible one again: headless Chromium keeps
# every page "visible", so visibilityState is stubbed and visibilitychange fired.
HIDE_JS = """(hidden) => {
  Object.defineProperty(document, "visibilityState", {
    configurable: true, get: () => (hidden ? "hidden" : "visible"),
  });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def set_hidden(participant: Participant, hidden: bool) -> float:
    """Hide the page as a hidden tab would (or show it again); returns when, on the
    page's clock (epoch milliseconds, as getStats() timestamps)."""
    participant.js(HIDE_JS, hidden)
    now: float = participant.js("() => Date.now()")
    return now


# Per remote peer, our camera towards it and its camera towards us, with getStats()
# clocks: when the sample was taken and when the last packet of its camera arrived.
CAMERA_CLOCK_JS = f"""
async (peerId) => {{
  const pc = {CONFERENCE_JS}.peers.get(peerId).pc;
  const mid = pc.getTransceivers().find((t) => t.receiver.track.kind === "video")?.mid;
  const clock = {{ sent: null, received: null }};
  (await pc.getStats()).forEach((s) => {{
    if (s.kind !== "video" || s.mid !== mid) return;
    if (s.type === "outbound-rtp") {{
      clock.sent = {{ frames: s.framesEncoded ?? 0, at: s.timestamp }};
    }} else if (s.type === "inbound-rtp") {{
      const lastPacketAt = s.lastPacketReceivedTimestamp ?? null;
      clock.received = {{ frames: s.framesDecoded ?? 0, lastPacketAt }};
    }}
  }});
  return clock;
}}
"""


def camera_clock(participant: Participant, peer_id: str) -> dict[str, Any]:
    """``sent``: frames our camera encoded for ``peer_id`` and when that was sampled;
    ``received``: frames decoded from its camera and when its last packet arrived."""
    clock: dict[str, Any] = participant.js(CAMERA_CLOCK_JS, peer_id)
    return clock


# The height, in device pixels, at which the grid tile of ``peerId``'s camera draws it
# (16:9 pictures cropped to fill the tile).
TILE_HEIGHT_JS = """(peerId) => {
  const video = document.querySelector(`.nbc-tile.nbc-remote[data-peer-id="${peerId}"] video`);
  const { width, height } = video.getBoundingClientRect();
  return Math.round(Math.max(height, width * 9 / 16) * devicePixelRatio);
}"""


def tile_height(participant: Participant, peer_id: str) -> int:
    """How high the participant's page shows ``peer_id``'s camera, in device pixels."""
    height: int = participant.js(TILE_HEIGHT_JS, peer_id)
    return height


# Installed before Lab loads (``init_script``): every RTCPeerConnection the page makes,
# in ``window.__nbcConnections``, to count those that are connected.
COUNT_CONNECTIONS_JS = """
(() => {
  if (window.__nbcConnections || !window.RTCPeerConnection) return;
  const made = [];
  window.__nbcConnections = made;
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Original {
    constructor(...args) {
      super(...args);
      made.push(this);
    }
  };
})();
"""


def connected_connections(participant: Participant) -> int:
    """How many of the page's RTCPeerConnections are connected now (COUNT_CONNECTIONS_JS)."""
    script = """() => (window.__nbcConnections ?? [])
        .filter((pc) => pc.connectionState === "connected").length"""
    count: int = participant.js(script)
    return count


def live_connections(participant: Participant) -> int:
    """How many of the page's RTCPeerConnections are not closed (COUNT_CONNECTIONS_JS)."""
    script = """() => (window.__nbcConnections ?? [])
        .filter((pc) => pc.signalingState !== "closed").length"""
    count: int = participant.js(script)
    return count


def made_connections(participant: Participant) -> int:
    """How many RTCPeerConnections the page has made so far (COUNT_CONNECTIONS_JS)."""
    count: int = participant.js("() => (window.__nbcConnections ?? []).length")
    return count


def notices(participant: Participant) -> list[str]:
    """The widget's notice lines that are shown now, top to bottom."""
    script = """() => Array.from(document.querySelectorAll(".nbc-root .nbc-notice"))
        .filter((el) => !el.hidden && el.textContent).map((el) => el.textContent)"""
    shown: list[str] = participant.js(script)
    return shown


def plane(participant: Participant) -> str:
    """Which media plane carries the page's call: "mesh" or "sfu"."""
    result: str = participant.js(f"() => {CONFERENCE_JS}.plane")
    return result


# Watches, every 50 ms, the camera of each remote peer as the page shows it (its mesh
# link, or its SFU feed once that took over): the longest time between two samples in
# which a new frame was decoded, per peer, in ``window.__nbcFreeze``.
FREEZE_MONITOR_JS = f"""
() => {{
  if (window.__nbcFreeze) return;
  const state = {{ last: {{}}, worst: {{}}, worstAt: {{}}, counts: {{}}, via: {{}}, events: [] }};
  window.__nbcFreeze = state;
  const tick = async () => {{
    try {{
      const conference = {CONFERENCE_JS};
      const now = performance.now();
      for (const [peerId, session] of conference.peers) {{
        const pc = session.pc;
        if (!pc || pc.connectionState === "closed") continue;
        const sfu = session.via === "sfu";
        const video = pc.getTransceivers().find((t) => t.receiver.track.kind === "video");
        const mid = sfu ? session.cameraMid : (video?.mid ?? null);
        const camera = pc.getTransceivers().find((t) => t.mid === mid);
        if (!camera) continue;
        let moved = false;
        (await camera.receiver.getStats()).forEach((s) => {{
          if (s.type !== "inbound-rtp" || s.kind !== "video") return;
          const key = `${{peerId}} ${{session.via}} ${{mid}}`;
          if ((s.framesDecoded ?? 0) > (state.counts[key] ?? 0)) moved = true;
          state.counts[key] = s.framesDecoded ?? 0;
        }});
        if (state.via[peerId] !== session.via) state.events.push([now, peerId, session.via]);
        state.via[peerId] = session.via;
        if (conference.plane !== state.plane) state.events.push([now, "plane", conference.plane]);
        state.plane = conference.plane;
        if (!moved) continue;
        const gap = peerId in state.last ? now - state.last[peerId] : 0;
        if (gap > (state.worst[peerId] ?? 0)) {{
          state.worst[peerId] = gap;
          state.worstAt[peerId] = now;
        }}
        state.last[peerId] = now;
      }}
    }} catch (error) {{
      console.info("freeze monitor", error);
    }}
    setTimeout(tick, 50);
  }};
  tick();
}}
"""


def start_freeze_monitor(participant: Participant) -> None:
    participant.js(FREEZE_MONITOR_JS)


def worst_freeze(participant: Participant, peer_id: str) -> float:
    """The longest the page went without a new frame of ``peer_id``'s camera since
    start_freeze_monitor, in seconds (a freeze still going on counts up to now)."""
    script = """(id) => {
      const state = window.__nbcFreeze;
      const last = state.last[id];
      if (last === undefined) return null;
      return Math.max(state.worst[id] ?? 0, performance.now() - last) / 1000;
    }"""
    worst: float | None = participant.js(script, peer_id)
    assert worst is not None, f"{participant.name} never decoded a frame of {peer_id}"
    return worst


# Sizes the page's tile of ``peerId``'s camera (CSS pixels), or hides it (``hidden``),
# as a layout would: a style rule of the test's own, replaced on each call.
TILE_SIZE_JS = """([peerId, width, height, hidden]) => {
  const id = `nbc-test-size-${peerId}`;
  document.getElementById(id)?.remove();
  const style = document.createElement("style");
  style.id = id;
  const tile = `.nbc-tile.nbc-remote:not(.nbc-screen)[data-peer-id="${peerId}"]`;
  style.textContent = hidden
    ? `${tile} { display: none !important; }`
    : `${tile} { width: ${width}px !important; height: ${height}px !important; }`;
  document.head.append(style);
  return Date.now();
}"""


def size_tile(
    participant: Participant, peer_id: str, width: int = 0, height: int = 0, hidden: bool = False
) -> float:
    """Show ``peer_id``'s camera tile ``width`` x ``height`` CSS pixels, or hide it;
    returns when, on the page's clock (epoch ms, as getStats() timestamps)."""
    now: float = participant.js(TILE_SIZE_JS, [peer_id, width, height, hidden])
    return now


# Samples, every 100 ms, the receiver of ``peerId``'s camera through the SFU as it is
# now (its transceiver is kept, so a stream that stops shows as frames that stop):
# ``window.__nbcLayers[peerId]`` is a list of {at: epoch ms, frames, height}.
LAYER_MONITOR_JS = f"""
(peerId) => {{
  const feed = {CONFERENCE_JS}.peers.get(peerId);
  const camera = feed?.lines?.camera;
  if (!camera) throw new Error(`no SFU camera line of ${{peerId}}`);
  const samples = [];
  (window.__nbcLayers ??= {{}})[peerId] = samples;
  const tick = async () => {{
    let frames = 0;
    let height = 0;
    (await camera.receiver.getStats()).forEach((s) => {{
      if (s.type !== "inbound-rtp" || s.kind !== "video") return;
      frames = Math.max(frames, s.framesDecoded ?? 0);
      height = s.frameHeight ?? 0;
    }});
    samples.push({{ at: Date.now(), frames, height }});
    if (samples.length < 3000) setTimeout(tick, 100);
  }};
  tick();
}}
"""


def start_layer_monitor(participant: Participant, peer_id: str) -> None:
    participant.js(LAYER_MONITOR_JS, peer_id)


def layer_samples(participant: Participant, peer_id: str) -> list[dict[str, float]]:
    """What LAYER_MONITOR_JS sampled so far: {at, frames, height} every 100 ms."""
    samples: list[dict[str, float]] = participant.js("(id) => window.__nbcLayers[id]", peer_id)
    return samples


# The camera layers a page's SFU publisher is encoding now: those whose frame count grows
# across 300 ms, with their height and what (if anything) holds their quality back.
LAYERS_SENT_JS = f"""
async () => {{
  const sender = {CONFERENCE_JS}.sfu.publisher?.camera.sender;
  if (!sender) throw new Error("no SFU publisher");
  const read = async () => {{
    const layers = new Map();
    (await sender.getStats()).forEach((s) => {{
      if (s.type === "outbound-rtp" && s.kind === "video") layers.set(s.rid ?? "", s);
    }});
    return layers;
  }};
  const before = await read();
  await new Promise((resolve) => setTimeout(resolve, 300));
  return [...(await read()).values()]
    .filter((s) => (s.framesEncoded ?? 0) > (before.get(s.rid ?? "")?.framesEncoded ?? 0))
    .map((s) => ({{ rid: s.rid ?? "", height: s.frameHeight ?? 0,
                    limit: s.qualityLimitationReason ?? "" }}));
}}
"""


def layers_sent(participant: Participant) -> list[dict[str, Any]]:
    """The camera layers ``participant`` publishes to the SFU now ({rid, height, limit}),
    lowest first. Chromium sends fewer or smaller ones while its CPU or the bandwidth
    estimate holds it back, so a test compares what others receive with these."""
    layers: list[dict[str, Any]] = participant.js(LAYERS_SENT_JS)
    return sorted(layers, key=lambda layer: layer["height"])


def sfu_carries(participant: Participant, peer_id: str, kind: str) -> bool:
    """Whether a line of the page's SFU subscriber connection carries ``peer_id``'s
    stream of ``kind`` (camera, screen, audio) now."""
    script = f"""([id, kind]) => [...({CONFERENCE_JS}.sfu.subscriber?.carried.values() ?? [])]
        .some((line) => line.feed === id && line.kind === kind)"""
    carries: bool = participant.js(script, [peer_id, kind])
    return carries


def freeze_story(participant: Participant) -> dict[str, Any]:
    """What the freeze monitor saw: when each worst gap ended, and when the plane and each
    peer's carrier changed (page ms), for a failure's note."""
    story: dict[str, Any] = participant.js(
        "() => { const s = window.__nbcFreeze; "
        "return { worst: s.worst, worstAt: s.worstAt, events: s.events }; }"
    )
    return story
