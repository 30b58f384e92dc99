// @ts-check
// One view of a conference: status line, a grid of video tiles and the call controls.
// Views own DOM only; media, sockets and audio belong to the conference.
import { icon } from "./icons.js";

/**
 * @typedef {import("./conference.js").Conference} Conference
 * @typedef {import("./quality.js").Grade} Grade
 * @typedef {{ el: HTMLElement, video: HTMLVideoElement, label: HTMLElement, badges: HTMLElement }} Tile
 */

/** @param {string} tag @param {string} [className] */
function h(tag, className) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  return el;
}

/** @param {number} count */
function plural(count) {
  return count === 1 ? "1 peer" : `${count} peers`;
}

/** @param {Conference} c */
export function statusText(c) {
  switch (c.status) {
    case "connecting":
      return c.detail || `Connecting to room ${c.room}…`;
    case "joined": {
      const others = c.peers.size;
      return `Joined room ${c.room} as ${c.name} · ${others ? plural(others) : "waiting for others"}`;
    }
    case "reconnecting":
      return `Reconnecting to room ${c.room}; calls in progress continue. ${c.detail}`.trim();
    case "left":
      return `Left room ${c.room}.`;
    case "error":
      return c.error || "Something went wrong.";
  }
  return "";
}

/**
 * @param {HTMLElement} el  the view's element
 * @param {Conference} conference
 * @returns {() => void} cleanup
 */
export function renderView(el, conference) {
  const root = h("div", "nbc-root");
  root.dataset.instanceId = conference.instanceId;
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
    conference.setMicrophone(!conference.media.microphone),
  );
  const cam = button("camera", "Camera", () => conference.setCamera(!conference.media.camera));
  const screen = button("screen", "Share screen", () =>
    conference.media.screen ? conference.stopScreenShare() : conference.startScreenShare(),
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

  /** @param {string} key @param {string} kind */
  const tileFor = (key, kind) => {
    let tile = tiles.get(key);
    if (!tile) {
      const tileEl = h("div", `nbc-tile nbc-${kind}`);
      const video = /** @type {HTMLVideoElement} */ (h("video"));
      // Every video is muted: voices play through the conference's audio elements.
      video.muted = true;
      video.autoplay = true;
      video.playsInline = true;
      const avatar = h("div", "nbc-avatar");
      const label = h("div", "nbc-label");
      const badges = h("div", "nbc-badges");
      tileEl.append(video, avatar, label, badges);
      tile = { el: tileEl, video, label, badges };
      tiles.set(key, tile);
    }
    return tile;
  };

  /** @param {Tile} tile @param {MediaStream | null} stream */
  const attach = (tile, stream) => {
    if (tile.video.srcObject === stream) return;
    tile.video.srcObject = stream;
    if (stream) {
      tile.video.play().catch((error) => {
        if (error?.name !== "AbortError") console.debug("nbconference: video.play()", error);
      });
    }
  };

  /**
   * @param {Tile} tile
   * @param {{ id: string, name: string, camera: boolean, microphone: boolean, connection: string, problem: string }} p
   */
  const describe = (tile, p) => {
    const { el: tileEl } = tile;
    tileEl.dataset.peerId = p.id;
    tileEl.dataset.connection = p.connection;
    setFlag(tileEl, "camera", p.camera);
    setFlag(tileEl, "microphone", p.microphone);
    const avatar = /** @type {HTMLElement} */ (tileEl.querySelector(".nbc-avatar"));
    avatar.textContent = (p.name.trim()[0] ?? "?").toUpperCase();
    tile.label.replaceChildren(text("span", "nbc-name", p.name));
    if (!p.microphone) tile.label.append(indicator("nbc-mic-off", "Microphone off", "microphone"));
    if (!p.camera) tile.label.append(indicator("nbc-cam-off", "Camera off", "camera"));
    const trouble = ["new", "connecting", "disconnected", "failed"].includes(p.connection);
    const label = p.problem ? "no network path" : connectionLabel(p.connection);
    const badge = text("span", "nbc-connection", label);
    badge.title = p.problem;
    tile.badges.replaceChildren(...(trouble || p.problem ? [badge] : []));
  };

  const update = () => {
    const c = conference;
    root.dataset.status = c.status;
    root.dataset.peerId = c.id;
    status.textContent = statusText(c);
    notice.textContent = c.notice;
    notice.hidden = !c.notice;
    mediaNotice.textContent = c.media.error;
    mediaNotice.hidden = !c.media.error || c.status === "left";

    const inCall = c.active;
    const local = c.media.state();
    toggle(mic, c.media.microphone, "microphone");
    toggle(cam, c.media.camera, "camera");
    toggle(screen, local.screen, "screen");
    for (const b of [mic, cam, screen, leave]) b.hidden = !inCall;
    screen.disabled = c.status !== "joined";
    join.hidden = inCall && c.status !== "error";
    const retry = c.status === "error";
    join.querySelector("span")?.replaceChildren(retry ? "Try again" : "Join");
    audio.hidden = !c.audio.blocked || !inCall;

    /** @type {Tile[]} */
    const order = [];
    const seen = new Set();
    for (const link of c.peers.values()) {
      if (!link.remoteScreen || link.state.screen === false) continue;
      const tile = tileFor(`screen:${link.id}`, "screen");
      attach(tile, link.remoteScreen);
      tile.el.dataset.peerId = link.id;
      tile.el.dataset.kind = "screen";
      tile.label.replaceChildren(text("span", "nbc-name", `${link.name || "Someone"}'s screen`));
      order.push(tile);
      seen.add(`screen:${link.id}`);
    }
    if (inCall) {
      const me = tileFor("local", "local");
      attach(me, local.camera ? c.media.preview : null);
      describe(me, {
        id: c.id,
        name: `${c.name} (you)`,
        camera: local.camera,
        microphone: local.microphone,
        connection: "local",
        problem: "",
      });
      me.el.dataset.kind = "camera";
      me.el.classList.toggle("nbc-speaking", c.speaker !== "" && c.speaker === c.id);
      order.push(me);
      seen.add("local");
    }
    for (const link of c.peers.values()) {
      const tile = tileFor(`peer:${link.id}`, "remote");
      attach(tile, link.remoteStream);
      describe(tile, {
        id: link.id,
        name: link.name || "Someone",
        camera: link.state.camera !== false,
        microphone: link.state.microphone !== false,
        connection: link.pc.connectionState,
        problem: c.mesh.problem(link),
      });
      tile.el.dataset.kind = "camera";
      showQuality(tile.el, tile.label, c.grades.get(link.id) ?? null);
      tile.el.classList.toggle("nbc-speaking", c.speaker === link.id);
      order.push(tile);
      seen.add(`peer:${link.id}`);
    }
    for (const [key, tile] of tiles) {
      if (seen.has(key)) continue;
      tile.video.srcObject = null;
      tile.el.remove();
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

/** @param {HTMLElement} el @param {string} name @param {boolean} on */
function setFlag(el, name, on) {
  if (on) el.removeAttribute(`data-${name}`);
  else el.setAttribute(`data-${name}`, "off");
}

/** @param {string} tag @param {string} className @param {string} content */
function text(tag, className, content) {
  const el = h(tag, className);
  el.textContent = content;
  return el;
}

/** @param {string} className @param {string} label @param {"microphone" | "camera"} name */
function indicator(className, label, name) {
  const el = h("span", className);
  el.title = label;
  el.setAttribute("aria-label", label);
  el.setAttribute("role", "img");
  el.innerHTML = icon(name, true);
  return el;
}

/** @param {string} state */
function connectionLabel(state) {
  if (state === "disconnected") return "reconnecting…";
  if (state === "failed") return "connection failed; retrying…";
  return "connecting…";
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

/** Signal bars, as many filled as the grade deserves. */
const BARS = { good: 3, fair: 2, poor: 1 };

/**
 * Show the grade on a tile: `data-quality` on the tile and a badge of bars, coloured and
 * titled for people who cannot tell the colours apart. Removes both while unknown.
 * @param {HTMLElement} tile
 * @param {HTMLElement} label  where the badge goes (before the name)
 * @param {Grade | null} grade
 */
function showQuality(tile, label, grade) {
  label.querySelector(".nbc-quality")?.remove();
  if (!grade) {
    tile.removeAttribute("data-quality");
    return;
  }
  tile.dataset.quality = grade.quality;
  const badge = document.createElement("span");
  badge.className = "nbc-quality";
  badge.dataset.quality = grade.quality;
  const why = grade.reasons.length ? ` (${grade.reasons.join(", ")})` : "";
  const text = `Connection ${grade.quality}${why}`;
  badge.title = text;
  badge.setAttribute("role", "img");
  badge.setAttribute("aria-label", text);
  const filled = BARS[grade.quality];
  badge.innerHTML =
    '<svg viewBox="0 0 12 12" aria-hidden="true" focusable="false">' +
    [0, 1, 2]
      .map((i) => {
        const height = 4 + i * 3;
        const on = i < filled ? " nbc-on" : "";
        const place = `x="${i * 4}" y="${12 - height}" width="3" height="${height}"`;
        return `<rect class="nbc-bar${on}" ${place} rx="0.5"/>`;
      })
      .join("") +
    "</svg>";
  label.prepend(badge);
}
