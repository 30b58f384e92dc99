// @ts-check
// The view's video tiles: one element per camera or shared screen, with its name, its
// camera and microphone indicators, its connection badge and its link-quality badge.
import { icon } from "./icons.js";
import { unverifiedTag } from "./people.js";

/**
 * @typedef {import("./quality.js").Grade} Grade
 * @typedef {"local" | "remote" | "screen"} TileKind
 * @typedef {{ el: HTMLElement, video: HTMLVideoElement, label: HTMLElement, badges: HTMLElement }} Tile
 *
 * @typedef {object} TilePerson  who a camera tile shows
 * @property {string} id
 * @property {string} name  as shown
 * @property {string} initials  shown in the person's colour while the camera is off
 * @property {string | null} color
 * @property {string | null} avatar_url
 * @property {boolean} verified  the name is the server's; false: only the client's label
 * @property {boolean} camera
 * @property {boolean} microphone
 * @property {boolean} host  a host of the room (the server says so)
 * @property {RTCPeerConnectionState | "local"} connection
 * @property {string} problem  why the link does not work, "" when it does
 */

/** @param {string} tag @param {string} [className] */
export function h(tag, className) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  return el;
}

/** @param {string} tag @param {string} className @param {string} content */
function text(tag, className, content) {
  const el = h(tag, className);
  el.textContent = content;
  return el;
}

/** @param {TileKind} kind @returns {Tile} */
export function createTile(kind) {
  const el = h("div", `nbc-tile nbc-${kind}`);
  const video = /** @type {HTMLVideoElement} */ (h("video"));
  // Every video is muted: voices play through the conference's audio elements.
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  const avatar = h("div", "nbc-avatar");
  const label = h("div", "nbc-label");
  const badges = h("div", "nbc-badges");
  el.append(video, avatar, label, badges);
  return { el, video, label, badges };
}

/** @param {{ video: HTMLVideoElement }} tile @param {MediaStream | null} stream */
export function attachStream(tile, stream) {
  if (tile.video.srcObject === stream) return;
  tile.video.srcObject = stream;
  if (stream) {
    tile.video.play().catch((error) => {
      if (error?.name !== "AbortError") console.debug("nbconference: video.play()", error);
    });
  }
}

/** Let go of the tile's stream and take it off the page. @param {Tile} tile */
export function removeTile(tile) {
  tile.video.srcObject = null;
  tile.el.remove();
}

/**
 * A camera tile: ours or a remote peer's.
 * @param {Tile} tile
 * @param {TilePerson} person
 * @param {Grade | null} grade  the link's quality (remote peers only)
 * @param {boolean} speaking
 * @param {boolean} [incoming]  false: "video off for me", the tile shows who, not the video
 */
export function describeCamera(tile, person, grade, speaking, incoming = true) {
  const { el } = tile;
  el.dataset.peerId = person.id;
  el.dataset.kind = "camera";
  el.dataset.connection = person.connection;
  setFlag(el, "camera", person.camera);
  setFlag(el, "incoming", incoming);
  setFlag(el, "microphone", person.microphone);
  showAvatar(/** @type {HTMLElement} */ (el.querySelector(".nbc-avatar")), person);
  const name = text("span", "nbc-name", person.name);
  name.title = person.verified ? person.name : `${person.name} (name not verified by the server)`;
  if (person.color) el.style.setProperty("--nbc-person-color", person.color);
  else el.style.removeProperty("--nbc-person-color");
  tile.label.replaceChildren(name);
  if (!person.verified) tile.label.append(unverifiedTag());
  el.toggleAttribute("data-host", person.host);
  if (person.host) tile.label.append(hostTag());
  if (!person.microphone) {
    tile.label.append(indicator("nbc-mic-off", "Microphone off", "microphone"));
  }
  if (!person.camera) tile.label.append(indicator("nbc-cam-off", "Camera off", "camera"));
  const trouble = ["new", "connecting", "disconnected", "failed"].includes(person.connection);
  const label = person.problem ? "no network path" : connectionLabel(person.connection);
  const badge = text("span", "nbc-connection", label);
  badge.title = person.problem;
  tile.badges.replaceChildren(...(trouble || person.problem ? [badge] : []));
  showQuality(el, tile.label, grade);
  el.classList.toggle("nbc-speaking", speaking);
}

/**
 * The person's picture, else their initials, for while the camera is off.
 * @param {HTMLElement} avatar @param {TilePerson} person
 */
function showAvatar(avatar, person) {
  const url = person.avatar_url && /^(https?:|data:image\/)/.test(person.avatar_url) ? person.avatar_url : "";
  const current = avatar.querySelector("img");
  if (url) {
    if (current?.getAttribute("src") === url) return;
    const img = /** @type {HTMLImageElement} */ (h("img"));
    img.alt = "";
    img.src = url;
    avatar.replaceChildren(img);
    return;
  }
  if (avatar.textContent !== person.initials || current) avatar.textContent = person.initials;
}

/**
 * A remote peer's shared screen.
 * @param {Tile} tile @param {string} peerId @param {string} name  the peer's, as shown
 * @param {boolean} [incoming]  false: "video off for me", the tile says whose it is only
 */
export function describeScreen(tile, peerId, name, incoming = true) {
  tile.el.dataset.peerId = peerId;
  tile.el.dataset.kind = "screen";
  setFlag(tile.el, "incoming", incoming);
  tile.label.replaceChildren(text("span", "nbc-name", `${name}'s screen`));
}

/** The tag on a host's tile, said in words. */
export function hostTag() {
  const tag = text("span", "nbc-host-tag", "Host");
  tag.title = "A host of this call: they may mute, remove and end the call for everyone";
  return tag;
}

/** @param {HTMLElement} el @param {string} name @param {boolean} on  "off" when false */
function setFlag(el, name, on) {
  if (on) el.removeAttribute(`data-${name}`);
  else el.setAttribute(`data-${name}`, "off");
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
  const route = grade.route ? `; ${grade.route}` : "";
  const title = `Connection ${grade.quality}${why}${route}`;
  badge.title = title;
  badge.setAttribute("role", "img");
  badge.setAttribute("aria-label", title);
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
