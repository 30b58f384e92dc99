// @ts-check
// One view of a conference: status line, a grid of video tiles and the call controls.
// It renders the conference's snapshot() and calls its actions; media, sockets and audio
// belong to the conference, the tiles' DOM to tiles.js.
import { chatPanel } from "./chat.js";
import { keepInSight } from "./floating.js";
import { handQueue, handsPanel, markHand } from "./hands.js";
import { icon } from "./icons.js";
import { canPopOut, popOut } from "./popout.js";
import { recordingBanner } from "./recording-banner.js";
import { sightOf } from "./sight.js";
import {
  attachStream,
  createTile,
  describeCamera,
  describeScreen,
  h,
  removeTile,
} from "./tiles.js";

/**
 * @typedef {import("./conference.js").ConferenceView} ConferenceView
 * @typedef {import("./snapshot.js").ConferenceSnapshot} ConferenceSnapshot
 * @typedef {import("./tiles.js").Tile} Tile
 */

/** @param {number} count */
function plural(count) {
  return count === 1 ? "1 peer" : `${count} peers`;
}

export const LOCAL_SIGNALING =
  "Using a local signaling server. Restart Jupyter to use the built-in one.";

/**
 * The call, named for people: the notebook it belongs to, or its room.
 * @param {ConferenceSnapshot} c
 */
function callName(c) {
  return c.label || `room ${c.room}`;
}

/** @param {ConferenceSnapshot} c */
export function statusText(c) {
  switch (c.status) {
    case "idle":
      return c.elsewhere
        ? `You are in ${callName(c)} in another tab or cell of this browser.`
        : `Not in ${callName(c)}.`;
    case "connecting":
      return c.detail || `Connecting to ${callName(c)}…`;
    case "joined": {
      const others = c.peers.length;
      const waiting = others ? plural(others) : "waiting for others";
      const local = c.localSignaling ? ` · ${LOCAL_SIGNALING}` : "";
      return `In ${callName(c)} as ${c.local.name} · ${waiting}${local}`;
    }
    case "reconnecting":
      return `Reconnecting to ${callName(c)}; calls in progress continue. ${c.detail}`.trim();
    case "left":
      return `Left ${callName(c)}.`;
    case "error":
      return c.error || "Something went wrong.";
  }
}

/**
 * What the notebook's code asks of the person, and how the buttons say yes.
 * @type {Record<"camera" | "microphone", [string, string]>}
 */
const REQUEST_TEXT = {
  camera: ["The notebook asks you to turn on your camera.", "Turn camera on"],
  microphone: ["The notebook asks you to unmute your microphone.", "Unmute"],
};

/**
 * @param {HTMLElement} el  the view's element
 * @param {ConferenceView} conference
 * @returns {() => void} cleanup
 */
export function renderView(el, conference) {
  const root = h("div", "nbc-root");
  const header = h("div", "nbc-header");
  const dot = h("span", "nbc-dot");
  const status = h("div", "nbc-status");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  header.append(dot, status);
  const notice = h("div", "nbc-notice");
  notice.setAttribute("role", "alert");
  const mediaNotice = h("div", "nbc-notice nbc-media-error");
  const grid = h("div", "nbc-grid");
  const controls = h("div", "nbc-controls");
  controls.setAttribute("role", "toolbar");
  controls.setAttribute("aria-label", "Call controls");

  /** @param {string} action @param {string} label @param {() => void} onClick */
  const button = (action, label, onClick) => {
    const b = /** @type {HTMLButtonElement} */ (h("button", "nbc-button"));
    b.type = "button";
    b.dataset.action = action;
    b.setAttribute("aria-label", label);
    b.addEventListener("click", onClick);
    controls.append(b);
    return b;
  };
  const mic = button("microphone", "Microphone", () =>
    conference.setMicrophone(!conference.snapshot().wanted.microphone),
  );
  const cam = button("camera", "Camera", () =>
    conference.setCamera(!conference.snapshot().wanted.camera),
  );
  const screen = button("screen", "Share screen", () =>
    conference.snapshot().local.screen
      ? conference.stopScreenShare()
      : conference.startScreenShare(),
  );
  const incoming = button("receive-video", "Video from the others", () =>
    conference.setReceiveVideo(!conference.snapshot().receiveVideo),
  );
  const audio = button("enable-audio", "Enable audio", () => conference.enableAudio());
  audio.innerHTML = `${icon("speaker")}<span>Enable audio</span>`;
  audio.title = "The browser blocked sound until you click here";
  // -- chat and raised hands --
  const chat = chatPanel((text) => conference.sendChat(text));
  const chatToggle = button("chat", "Chat", () => {
    chat.setOpen(!chat.open);
    update();
  });
  const hands = handsPanel((peerId) => conference.lowerHand(peerId));
  const hand = button("hand", "Raise hand", () =>
    conference.raiseHand(!(conference.snapshot().local.hand > 0)),
  );
  const leave = button("leave", "Leave call", () => conference.leave());
  leave.classList.add("nbc-danger");
  leave.innerHTML = `${icon("leave")}<span>Leave</span>`;
  leave.title = "Leave the call";
  /** @type {(() => void) | null} closes the pop-out window while the call is in it */
  let closePopOut = null;
  const placeholder = h("div", "nbc-popped-out");
  const popped = h("span");
  popped.textContent = "The call is in its own window.";
  const bringBack = h("button", "nbc-button");
  bringBack.textContent = "Bring it back";
  bringBack.dataset.action = "bring-back";
  bringBack.addEventListener("click", () => closePopOut?.());
  placeholder.append(popped, bringBack);
  const popout = button("popout", "Pop out", async () => {
    if (closePopOut) {
      closePopOut();
      return;
    }
    try {
      closePopOut = await popOut(root, placeholder, () => {
        closePopOut = null;
        sight.setPopped(false);
        seen.setPopped(false);
        update();
      });
      sight.setPopped(true);
      seen.setPopped(true);
      update();
    } catch (error) {
      console.warn("nbconference: pop-out failed", error);
    }
  });
  popout.title = "Keep the call in a window on top of the others";

  const join = button("join", "Join call", () =>
    conference.snapshot().elsewhere ? conference.joinHere() : conference.rejoin(),
  );
  join.classList.add("nbc-primary");
  join.innerHTML = `${icon("join")}<span>Join</span>`;
  join.title = "Join the call again";

  const requests = h("div", "nbc-requests");
  /** @type {Record<"camera" | "microphone", HTMLElement>} */
  const asks = { camera: h("div", "nbc-request"), microphone: h("div", "nbc-request") };
  for (const device of /** @type {const} */ (["camera", "microphone"])) {
    const ask = asks[device];
    ask.setAttribute("role", "alertdialog");
    ask.dataset.device = device;
    const [question, yes] = REQUEST_TEXT[device];
    const accept = h("button", "nbc-button nbc-primary");
    accept.textContent = yes;
    accept.dataset.action = `accept-${device}`;
    accept.addEventListener("click", () => conference.answerRequest(device, true));
    const decline = h("button", "nbc-button");
    decline.textContent = "Not now";
    decline.dataset.action = `decline-${device}`;
    decline.addEventListener("click", () => conference.answerRequest(device, false));
    const text = h("span");
    text.textContent = question;
    ask.append(text, accept, decline);
    requests.append(ask);
  }

  const recording = recordingBanner();
  root.append(
    header,
    recording.el,
    notice,
    mediaNotice,
    requests,
    hands.el,
    grid,
    controls,
    chat.panel,
  );
  el.append(root);
  const sight = keepInSight(conference, root);
  // What this view shows of each peer, and at what size: what the peers send us.
  const seen = sightOf(conference).watchRoot();

  /** @type {Map<string, Tile>} */
  const tiles = new Map();
  /** @type {Map<string, { show(peerId: string): void, remove(): void }>} */
  const watched = new Map();

  /**
   * @param {string} key @param {import("./tiles.js").TileKind} kind
   * @param {string} [peerId]  a remote peer's tile: its size is what we ask that peer for
   */
  const tileFor = (key, kind, peerId) => {
    let tile = tiles.get(key);
    if (!tile) {
      tile = createTile(kind);
      tiles.set(key, tile);
      if (peerId) {
        const kindShown = kind === "screen" ? "screen" : "camera";
        const handle = sightOf(conference).track(tile.el, tile.video, kindShown, seen.root);
        handle.show(peerId);
        watched.set(key, handle);
      }
    }
    return tile;
  };

  const update = () => {
    const c = conference.snapshot();
    root.dataset.instanceId = c.instanceId;
    root.dataset.status = c.status;
    root.dataset.peerId = c.local.id;
    root.dataset.elsewhere = String(c.elsewhere);
    status.textContent = statusText(c);
    notice.textContent = c.notice;
    notice.hidden = !c.notice;
    recording.update(c.status === "joined" || c.status === "reconnecting" ? c.recorders : []);
    mediaNotice.textContent = c.mediaError;
    mediaNotice.hidden = !c.mediaError || c.status === "left";

    const inCall = c.inCall;
    toggle(mic, c.wanted.microphone, "microphone");
    toggle(cam, c.wanted.camera, "camera");
    toggle(screen, c.local.screen, "screen");
    toggle(incoming, c.receiveVideo, "incoming");
    for (const b of [mic, cam, screen, incoming, leave]) b.hidden = !inCall;
    chat.update(c.chat);
    hands.update(c);
    const unread = chat.unread;
    chatToggle.dataset.unread = String(unread);
    chatToggle.textContent = unread ? `Chat (${unread})` : "Chat";
    chatToggle.setAttribute("aria-pressed", String(chat.open));
    chatToggle.title = unread ? `${unread} unread chat messages` : chat.open ? "Hide the chat" : "Show the chat";
    const up = c.local.hand > 0;
    hand.hidden = c.status !== "joined";
    hand.setAttribute("aria-pressed", String(up));
    hand.textContent = up ? "Lower hand" : "✋ Raise hand";
    const places = new Map(handQueue(c).map((raised, index) => [raised.id, index + 1]));
    popout.hidden = !canPopOut() || (!inCall && !closePopOut);
    const popText = closePopOut ? "Pop in" : "Pop out";
    if (popout.textContent !== popText) popout.textContent = popText;
    screen.disabled = c.status !== "joined";
    join.hidden = inCall && c.status !== "error";
    const retry = c.status === "error";
    const joinText = c.elsewhere ? "Join here" : retry ? "Try again" : "Join";
    join.querySelector("span")?.replaceChildren(joinText);
    join.title = c.elsewhere ? "Move the call to this tab (the other one leaves it)" : "Join the call";
    for (const device of /** @type {const} */ (["camera", "microphone"])) {
      asks[device].hidden = !c.requests[device];
    }
    audio.hidden = !c.audioBlocked || !inCall;

    /** @type {Tile[]} */
    const order = [];
    const placed = new Set();
    /** @param {string} key @param {Tile} tile */
    const place = (key, tile) => {
      order.push(tile);
      placed.add(key);
    };
    for (const peer of c.peers) {
      if (!peer.screenStream) continue;
      const tile = tileFor(`screen:${peer.id}`, "screen", peer.id);
      attachStream(tile, c.receiveVideo ? peer.screenStream : null);
      describeScreen(tile, peer.id, peer.name, c.receiveVideo);
      place(`screen:${peer.id}`, tile);
    }
    if (inCall) {
      const me = tileFor("local", "local");
      attachStream(me, c.local.preview);
      const you = { ...c.local, name: `${c.local.name} (you)` };
      const speaking = c.speaker !== "" && c.speaker === c.local.id;
      describeCamera(me, { ...you, connection: "local", problem: "" }, null, speaking);
      markHand(me, places.get(c.local.id) ?? 0);
      place("local", me);
    }
    for (const peer of c.peers) {
      const tile = tileFor(`peer:${peer.id}`, "remote", peer.id);
      attachStream(tile, c.receiveVideo ? peer.stream : null);
      const grade = c.grades.get(peer.id) ?? null;
      describeCamera(tile, peer, grade, c.speaker === peer.id, c.receiveVideo);
      markHand(tile, places.get(peer.id) ?? 0);
      place(`peer:${peer.id}`, tile);
    }
    for (const [key, tile] of tiles) {
      if (placed.has(key)) continue;
      removeTile(tile);
      tiles.delete(key);
      watched.get(key)?.remove();
      watched.delete(key);
    }
    order.forEach((tile, index) => {
      if (grid.children[index] !== tile.el)
        grid.insertBefore(tile.el, grid.children[index] ?? null);
    });
    const cameras = order.filter((t) => !t.el.classList.contains("nbc-screen")).length;
    const screens = order.length - cameras;
    grid.dataset.count = String(cameras);
    grid.dataset.columns = String(columnsFor(cameras, screens > 0));
    if (screens) grid.dataset.screen = "";
    else delete grid.dataset.screen;
  };

  conference.addEventListener("change", update);
  update();
  return () => {
    conference.removeEventListener("change", update);
    closePopOut?.();
    sight.unwatch();
    for (const handle of watched.values()) handle.remove();
    for (const tile of tiles.values()) tile.video.srcObject = null;
    root.remove();
    placeholder.remove();
  };
}

/**
 * Camera tiles per row: as square a grid as fits; a strip of small ones under a screen.
 * @param {number} cameras @param {boolean} screen
 */
function columnsFor(cameras, screen) {
  if (screen) return Math.min(Math.max(cameras, 1), 4);
  if (cameras <= 1) return 1;
  return cameras === 2 || cameras === 4 ? 2 : 3;
}

/**
 * Title and visible text of each toggle, when on and when off.
 * @type {Record<"microphone" | "camera" | "screen" | "incoming", Record<"on" | "off", [string, string]>>}
 */
const TOGGLE_TEXT = {
  microphone: {
    on: ["Turn the microphone off", "Mute"],
    off: ["Turn the microphone on", "Unmute"],
  },
  camera: { on: ["Turn the camera off", "Stop video"], off: ["Turn the camera on", "Start video"] },
  screen: { on: ["Stop sharing your screen", "Stop sharing"], off: ["Share your screen", "Share"] },
  incoming: {
    on: ["Stop the others' video for you alone: you still hear them", "Video off for me"],
    off: ["See the others' video again", "Video on for me"],
  },
};

/**
 * @param {HTMLButtonElement} b
 * @param {boolean} on
 * @param {keyof typeof TOGGLE_TEXT} name
 */
function toggle(b, on, name) {
  const pressed = String(on);
  if (b.getAttribute("aria-pressed") === pressed && b.firstChild) return;
  const [title, label] = TOGGLE_TEXT[name][on ? "on" : "off"];
  b.setAttribute("aria-pressed", pressed);
  b.title = title;
  b.innerHTML = `${icon(name, name !== "screen" && !on)}<span>${label}</span>`;
}
