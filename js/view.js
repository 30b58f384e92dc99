// @ts-check
// One view of a conference: status line, a grid of video tiles and the call controls.
// It renders the conference's snapshot() and calls its actions; media, sockets and audio
// belong to the conference, the tiles' DOM to tiles.js.
import { icon } from "./icons.js";
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

/** @param {ConferenceSnapshot} c */
export function statusText(c) {
  switch (c.status) {
    case "connecting":
      return c.detail || `Connecting to room ${c.room}…`;
    case "joined": {
      const others = c.peers.length;
      const waiting = others ? plural(others) : "waiting for others";
      return `Joined room ${c.room} as ${c.local.name} · ${waiting}`;
    }
    case "reconnecting":
      return `Reconnecting to room ${c.room}; calls in progress continue. ${c.detail}`.trim();
    case "left":
      return `Left room ${c.room}.`;
    case "error":
      return c.error || "Something went wrong.";
  }
}

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
  const audio = button("enable-audio", "Enable audio", () => conference.enableAudio());
  audio.innerHTML = `${icon("speaker")}<span>Enable audio</span>`;
  audio.title = "The browser blocked sound until you click here";
  const leave = button("leave", "Leave call", () => conference.leave());
  leave.classList.add("nbc-danger");
  leave.innerHTML = `${icon("leave")}<span>Leave</span>`;
  leave.title = "Leave the call";
  const join = button("join", "Join call", () => conference.rejoin());
  join.classList.add("nbc-primary");
  join.innerHTML = `${icon("join")}<span>Join</span>`;
  join.title = "Join the call again";

  root.append(header, notice, mediaNotice, grid, controls);
  el.append(root);

  /** @type {Map<string, Tile>} */
  const tiles = new Map();

  /** @param {string} key @param {import("./tiles.js").TileKind} kind */
  const tileFor = (key, kind) => {
    let tile = tiles.get(key);
    if (!tile) {
      tile = createTile(kind);
      tiles.set(key, tile);
    }
    return tile;
  };

  const update = () => {
    const c = conference.snapshot();
    root.dataset.instanceId = c.instanceId;
    root.dataset.status = c.status;
    root.dataset.peerId = c.local.id;
    status.textContent = statusText(c);
    notice.textContent = c.notice;
    notice.hidden = !c.notice;
    mediaNotice.textContent = c.mediaError;
    mediaNotice.hidden = !c.mediaError || c.status === "left";

    const inCall = c.inCall;
    toggle(mic, c.wanted.microphone, "microphone");
    toggle(cam, c.wanted.camera, "camera");
    toggle(screen, c.local.screen, "screen");
    for (const b of [mic, cam, screen, leave]) b.hidden = !inCall;
    screen.disabled = c.status !== "joined";
    join.hidden = inCall && c.status !== "error";
    const retry = c.status === "error";
    join.querySelector("span")?.replaceChildren(retry ? "Try again" : "Join");
    audio.hidden = !c.audioBlocked || !inCall;

    /** @type {Tile[]} */
    const order = [];
    const seen = new Set();
    /** @param {string} key @param {Tile} tile */
    const place = (key, tile) => {
      order.push(tile);
      seen.add(key);
    };
    for (const peer of c.peers) {
      if (!peer.screenStream) continue;
      const tile = tileFor(`screen:${peer.id}`, "screen");
      attachStream(tile, peer.screenStream);
      describeScreen(tile, peer.id, peer.name || "Someone");
      place(`screen:${peer.id}`, tile);
    }
    if (inCall) {
      const me = tileFor("local", "local");
      attachStream(me, c.local.preview);
      const { id, camera, microphone } = c.local;
      const you = { id, name: `${c.local.name} (you)`, camera, microphone };
      const speaking = c.speaker !== "" && c.speaker === id;
      describeCamera(me, { ...you, connection: "local", problem: "" }, null, speaking);
      place("local", me);
    }
    for (const peer of c.peers) {
      const tile = tileFor(`peer:${peer.id}`, "remote");
      attachStream(tile, peer.stream);
      const person = { ...peer, name: peer.name || "Someone" };
      const grade = c.grades.get(peer.id) ?? null;
      describeCamera(tile, person, grade, c.speaker === peer.id);
      place(`peer:${peer.id}`, tile);
    }
    for (const [key, tile] of tiles) {
      if (seen.has(key)) continue;
      removeTile(tile);
      tiles.delete(key);
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
    for (const tile of tiles.values()) tile.video.srcObject = null;
    root.remove();
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
 * @type {Record<"microphone" | "camera" | "screen", Record<"on" | "off", [string, string]>>}
 */
const TOGGLE_TEXT = {
  microphone: {
    on: ["Turn the microphone off", "Mute"],
    off: ["Turn the microphone on", "Unmute"],
  },
  camera: { on: ["Turn the camera off", "Stop video"], off: ["Turn the camera on", "Start video"] },
  screen: { on: ["Stop sharing your screen", "Stop sharing"], off: ["Share your screen", "Share"] },
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
