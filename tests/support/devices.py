"""What the device tests read and do in a page: the pre-join panel, the device menus,
what a remote camera's decoded frames show, and the links' negotiations.

Chromium's fake cameras (``support.pages.chromium_args(cameras=3)``) differ by pixel
format: ``fake_device_0`` (I420) draws a bright moving disc on green, ``fake_device_1``
(Y16, a depth format) gives frames WebRTC does not encode, and ``fake_device_2`` (MJPEG)
draws plain green. A receiver whose decoded frames from a peer turn flat is showing that
peer's third camera.
"""

from __future__ import annotations

from typing import Any

from .pages import Participant
from .polling import wait_until
from .timeouts import TIMEOUT

DETAILED_CAMERA = "fake_device_0"
PLAIN_CAMERA = "fake_device_2"
# The spread of the green channel over a frame scaled to 64x36: the detailed camera gives
# ~120, the plain one 0 (a few units of coding noise once encoded).
PLAIN_BELOW = 30
DETAILED_ABOVE = 80

# Watches every frame decoded from ``peerId``'s camera in this page (its tile's <video>):
# the last frame's spread, and the page's clock (epoch ms) of the first plain frame and
# the first detailed frame after the watch started, in ``globalThis.__nbcWatch``.
WATCH_CAMERA_JS = """
(peerId) => {
  const video = document.querySelector(
    `.nbc-tile.nbc-remote[data-peer-id="${peerId}"]:not(.nbc-screen) video`);
  if (!video) throw new Error(`no tile shows ${peerId}'s camera`);
  const canvas = document.createElement("canvas");
  canvas.width = 64;
  canvas.height = 36;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const watch = { last: null, frames: 0, plain: null, detailed: null, stopped: false };
  globalThis.__nbcWatch?.stop();
  globalThis.__nbcWatch = watch;
  watch.stop = () => { watch.stopped = true; };
  const step = () => {
    if (watch.stopped) return;
    context.drawImage(video, 0, 0, 64, 36);
    const data = context.getImageData(0, 0, 64, 36).data;
    let low = 255;
    let high = 0;
    for (let i = 1; i < data.length; i += 4) {
      low = Math.min(low, data[i]);
      high = Math.max(high, data[i]);
    }
    const spread = high - low;
    watch.last = spread;
    watch.frames += 1;
    const at = Date.now();
    if (spread < PLAIN_BELOW) watch.plain ??= at;
    if (spread > DETAILED_ABOVE) watch.detailed ??= at;
    video.requestVideoFrameCallback(step);
  };
  video.requestVideoFrameCallback(step);
}
""".replace("PLAIN_BELOW", str(PLAIN_BELOW)).replace("DETAILED_ABOVE", str(DETAILED_ABOVE))


def watch_camera(receiver: Participant, sender_id: str) -> None:
    """Start watching ``sender_id``'s camera as ``receiver`` decodes it."""
    receiver.js(WATCH_CAMERA_JS, sender_id)


def watched(receiver: Participant) -> dict[str, Any]:
    """The watch: ``last`` spread, ``frames`` seen, and when (page clock, epoch ms) the
    first ``plain`` and first ``detailed`` frame came, None until one did."""
    seen: dict[str, Any] = receiver.js(
        "() => { const { stop, ...w } = globalThis.__nbcWatch; return w; }"
    )
    return seen


# Per remote peer, the SDP session version of the link's current local and remote
# descriptions: each new offer or answer raises it, so equal numbers mean no renegotiation.
NEGOTIATIONS_JS = """
() => {
  const all = [...(globalThis.__nbconference?.conferences?.values() ?? [])];
  const conference = all.find((c) => c.status === "joined");
  const version = (d) => d ? Number(/^o=\\S+ \\S+ (\\d+)/m.exec(d.sdp)?.[1] ?? -1) : null;
  const result = {};
  for (const [peerId, link] of conference?.peers ?? []) {
    result[peerId] = {
      local: version(link.pc.currentLocalDescription),
      remote: version(link.pc.currentRemoteDescription),
      connection: link.pc.connectionState,
      signaling: link.pc.signalingState,
    };
  }
  return result;
}
"""


def negotiations(participant: Participant) -> dict[str, dict[str, Any]]:
    """By remote peer id: the SDP versions of its link and its states."""
    result: dict[str, dict[str, Any]] = participant.js(NEGOTIATIONS_JS)
    return result


# Marks each link's RTCPeerConnection, so a test can tell the same link from a new one.
MARK_LINKS_JS = """
(mark) => {
  const all = [...(globalThis.__nbconference?.conferences?.values() ?? [])];
  const conference = all.find((c) => c.status === "joined");
  const result = {};
  for (const [peerId, link] of conference?.peers ?? []) {
    link.pc.__nbcMark ??= mark;
    result[peerId] = link.pc.__nbcMark;
  }
  return result;
}
"""


def mark_links(participant: Participant, mark: str) -> dict[str, str]:
    """Mark each link not marked yet with ``mark``; returns each link's mark."""
    result: dict[str, str] = participant.js(MARK_LINKS_JS, mark)
    return result


def choose_camera(participant: Participant, label: str) -> float:
    """Open the camera menu and click the camera named ``label``, as a person would;
    returns when the click happened (page clock, epoch ms)."""
    page = participant.page
    page.locator('.nbc-button[data-action="camera-menu"]').click()
    item = page.locator('.nbc-device-menu[data-device="camera"] .nbc-menu-item', has_text=label)
    item.wait_for(timeout=TIMEOUT * 1000)
    item.evaluate(
        "(el) => el.addEventListener('click', () => { globalThis.__nbcClicked = Date.now(); },"
        " { capture: true, once: true })"
    )
    item.click()
    clicked: float = participant.js("() => globalThis.__nbcClicked")
    return clicked


def camera_in_use(participant: Participant) -> str | None:
    """The label of the camera the page sends, None with none."""
    script = """() => {
      const all = [...(globalThis.__nbconference?.conferences?.values() ?? [])];
      const track = all.find((c) => c.status === "joined")?.localStream.getVideoTracks()[0];
      return track && track.readyState === "live" ? track.label : null;
    }"""
    label: str | None = participant.js(script)
    return label


def prejoin_shown(participant: Participant) -> bool:
    """The pre-join panel is on the page."""
    return participant.page.locator(".nbc-prejoin").first.is_visible()


def wait_for_prejoin(participant: Participant) -> None:
    """Wait for the panel to show, with its preview playing the camera."""
    wait_until(lambda: prejoin_shown(participant), TIMEOUT, f"{participant.name}'s pre-join panel")


def click_prejoin(participant: Participant, text: str) -> None:
    """Click the panel's button ``text``: "Join", "Join with camera off" or "Join muted"."""
    panel = participant.page.locator(".nbc-prejoin")
    panel.get_by_role("button", name=text, exact=True).click()
