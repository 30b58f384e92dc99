"""A KernelPeer and real Chromium pages in one room, through the standalone server.

The pages run a minimal client of protocol v1 (below) with the fake camera and
microphone, so this proves interop with a browser's WebRTC both ways of the mesh rule:
a browser already in the room offers to the kernel peer, and the kernel peer offers to a
browser that joins after it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
import tornado.web

from nbconference.peer import KernelPeer, PeerAudio
from nbconference.server.standalone import StandaloneServer
from support.pages import CHROMIUM, CHROMIUM_ARGS
from support.polling import eventually

pytest.importorskip("aiortc")
async_api = pytest.importorskip("playwright.async_api")

KERNEL_COLOUR = (200, 40, 160)
WAIT = 15.0

PAGE = """<!doctype html><meta charset="utf-8"><title>nbconference test peer</title>
<script>
// The smallest protocol v1 client: the peer already in the room offers, the newcomer
// reuses the offered transceivers to answer, candidates trickle.
window.start = async (url, token, room, name) => {
  const stream = await navigator.mediaDevices.getUserMedia(
    {video: {width: 320, height: 240}, audio: true});
  const ws = new WebSocket(url + "?token=" + encodeURIComponent(token));
  const send = (m) => ws.send(JSON.stringify(m));
  const peer = {id: null, pcs: new Map(), remote: new Map(), errors: [], send};
  window.peer = peer;
  let iceServers = [], queue = Promise.resolve();
  const link = (id) => {
    const pc = new RTCPeerConnection({iceServers});
    pc.onicecandidate = (e) => e.candidate &&
      send({type: "signal", to: id, data: {candidate: e.candidate.toJSON()}});
    pc.ontrack = (e) => e.track.kind === "video" && peer.remote.set(id, new MediaStream([e.track]));
    peer.pcs.set(id, pc);
    return pc;
  };
  const handle = async (m) => {
    if (m.type === "welcome") { peer.id = m.id; iceServers = m.ice_servers; }
    else if (m.type === "peer-joined") {
      const pc = link(m.peer.id);
      for (const track of stream.getTracks()) pc.addTrack(track, stream);
      await pc.setLocalDescription();
      send({type: "signal", to: m.peer.id, data: {description: pc.localDescription}});
    } else if (m.type === "signal") {
      const pc = peer.pcs.get(m.from) || link(m.from);
      const description = m.data.description;
      if (description) {
        await pc.setRemoteDescription(description);
        if (description.type === "offer") {
          for (const t of pc.getTransceivers()) {
            const track = stream.getTracks().find((s) => s.kind === t.receiver.track.kind);
            if (track && !t.sender.track) {
              await t.sender.replaceTrack(track);
              t.direction = "sendrecv";
            }
          }
          await pc.setLocalDescription();
          send({type: "signal", to: m.from, data: {description: pc.localDescription}});
        }
      } else if (m.data.candidate) await pc.addIceCandidate(m.data.candidate);
    } else if (m.type === "peer-left") { peer.pcs.get(m.id)?.close(); peer.pcs.delete(m.id); }
    else if (m.type === "error") peer.errors.push(m.code + ": " + m.message);
  };
  ws.onmessage = (e) => { queue = queue.then(() => handle(JSON.parse(e.data)))
    .catch((err) => peer.errors.push(String(err))); };
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  send({type: "join", room, name, state: {camera: true, microphone: true, screen: false}});
};
window.shareScreen = async (id) => {
  // Renegotiation from the browser's side: a second video track, a new offer.
  const screen = await navigator.mediaDevices.getDisplayMedia({video: true});
  const pc = window.peer.pcs.get(id);
  pc.addTrack(screen.getVideoTracks()[0], screen);
  await pc.setLocalDescription();
  window.peer.send({type: "signal", to: id, data: {description: pc.localDescription}});
};
window.decoded = async (id) => {
  const pc = window.peer.pcs.get(id);
  if (!pc) return {frames: 0, width: 0, height: 0};
  let frames = 0, width = 0, height = 0;
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video") {
      frames += r.framesDecoded || 0;
      width = r.frameWidth || width;
      height = r.frameHeight || height;
    }
  });
  return {frames, width, height};
};
window.centrePixel = async (id) => {
  const video = document.createElement("video");
  video.muted = true; video.srcObject = window.peer.remote.get(id);
  await video.play();
  await new Promise((resolve) => video.requestVideoFrameCallback(resolve));
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const g = canvas.getContext("2d");
  g.drawImage(video, 0, 0);
  const [r, gr, b] = g.getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1).data;
  video.srcObject = null;
  return [r, gr, b];
};
</script>"""


class PageHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "text/html")
        self.write(PAGE)


@pytest.fixture
async def page_url() -> AsyncIterator[str]:
    """The test page on its own loopback origin (127.0.0.1 is a secure context)."""
    server = tornado.web.Application([(r"/", PageHandler)]).listen(0, address="127.0.0.1")
    port = next(iter(server._sockets.values())).getsockname()[1]
    yield f"http://127.0.0.1:{port}/"
    server.stop()
    await server.close_all_connections()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with async_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def open_peer(browser: Any, url: str, standalone: StandaloneServer, name: str) -> Any:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(url)
    await page.evaluate(
        "([u, t, r, n]) => window.start(u, t, r, n)",
        [standalone.url, standalone.token, "lab", name],
    )
    await page.wait_for_function("window.peer.id !== null", timeout=WAIT * 1000)
    return page


async def test_browsers_and_kernel_peer_exchange_media(
    standalone: StandaloneServer, page_url: str, browser: Any
) -> None:
    first = await open_peer(browser, page_url, standalone, "first browser")
    kernel = await KernelPeer.join("lab", name="kernel", url=standalone.url, token=standalone.token)
    try:
        image = np.empty((240, 320, 3), np.uint8)
        image[...] = KERNEL_COLOUR
        kernel.publish_frames(lambda: image, fps=15)
        shapes: dict[str, set[tuple[int, ...]]] = defaultdict(set)
        kernel.on_frame(lambda peer_id, frame: shapes[peer_id].add(frame.shape))
        audio: list[PeerAudio] = []
        kernel.on_audio(lambda *chunk: audio.append(PeerAudio(*chunk)))
        second = await open_peer(browser, page_url, standalone, "second browser")
        pages = {await p.evaluate("window.peer.id"): p for p in (first, second)}

        for browser_id, page in pages.items():
            stats = await eventually(
                lambda p=page: _decoded_from(p, kernel.id),
                WAIT,
                f"{browser_id} to decode the kernel",
            )
            assert (stats["width"], stats["height"]) == (320, 240)
            pixel = await page.evaluate("(id) => window.centrePixel(id)", kernel.id)
            assert np.abs(np.array(pixel) - KERNEL_COLOUR).max() < 30, pixel
            await eventually(
                lambda b=browser_id: shapes.get(b), WAIT, f"kernel to receive {browser_id}"
            )
            assert (240, 320, 3) in shapes[browser_id]
            assert kernel.links[browser_id].state == {
                "camera": True,
                "microphone": True,
                "screen": False,
            }
            assert await page.evaluate("window.peer.errors") == []
        await eventually(lambda: len({a.peer_id for a in audio}) == 2, WAIT, "audio from both")
        assert {(a.sample_rate, a.samples.dtype, a.samples.ndim) for a in audio} == {
            (48000, np.dtype(np.int16), 2)
        }

        # A screen share renegotiates from the browser's side: a second video track.
        second_id = next(i for i, p in pages.items() if p is second)
        first_id = next(i for i, p in pages.items() if p is first)
        await first.evaluate("(id) => window.shareScreen(id)", kernel.id)
        screen = await kernel.next_frame(first_id, kind="screen", timeout=WAIT)
        height, width, channels = screen.image.shape
        assert channels == 3 and abs(height / width - 720 / 1280) < 0.02, screen.image.shape
        assert (await kernel.next_frame(first_id, timeout=5)).image.shape == (240, 320, 3)
        assert await first.evaluate("window.peer.errors") == []

        # The second browser goes away without a goodbye; the first one keeps streaming.
        streaming = asyncio.Event()
        from_second = asyncio.create_task(_count(kernel.frames(second_id), streaming))
        await asyncio.wait_for(streaming.wait(), WAIT)
        await second.context.close()
        assert await asyncio.wait_for(from_second, WAIT) > 0, "the iterator over the leaver ends"
        assert [p["id"] for p in kernel.peers] == [first_id]
        frame = await kernel.next_frame(first_id, timeout=5)
        assert frame.image.shape == (240, 320, 3)
    finally:
        await kernel.leave()


async def _decoded_from(page: Any, kernel_id: str) -> dict[str, int] | None:
    stats: dict[str, int] = await page.evaluate("(id) => window.decoded(id)", kernel_id)
    return stats if stats["frames"] > 0 else None


async def _count(frames: AsyncIterator[Any], streaming: asyncio.Event) -> int:
    count = 0
    async for _ in frames:
        count += 1
        streaming.set()
    return count
