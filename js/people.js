// @ts-check
// Who a participant is: the Jupyter identity the server stamped on their record (the
// name, initials and colour their cursor has in a shared notebook), or only the label
// they gave where the server knows none.

/**
 * @typedef {object} Person
 * @property {string} name  the display name, or the label
 * @property {string | null} username  the Jupyter user, null when unverified
 * @property {string} initials  for the tile while the camera is off
 * @property {string | null} color  CSS colour of the person in a shared notebook
 * @property {string | null} avatar_url
 * @property {boolean} verified  the server vouches for the identity
 * @property {string[]} groups  the user's groups, as a JupyterHub says (none elsewhere)
 * @property {string | null} widget  the widget model the participant views, if it said
 * @property {"participant" | "recorder"} kind  a recorder is shown in the recording
 *   banner, not as a tile (recording-banner.js)
 * @property {boolean} host  a host of the room, as the server said (the conference keeps
 *   it up to date from the `hosts` frames)
 */

/** JupyterLab keeps the identity it shows (colour included) in local storage. */
const LAB_USER_KEY = "@jupyterlab/services:UserManager#user";

/**
 * Up to two letters from a name: "Ada Lovelace" → "AL", "ada" → "A".
 * @param {string} name
 */
export function initialsOf(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return letters.map((w) => [...(w ?? "")][0] ?? "").join("").toUpperCase() || "?";
}

/**
 * @param {import("./protocol.js").PeerInfo} info  a record from the server
 * @returns {Person}
 */
export function personOf(info) {
  const user = info.user;
  const name = user?.display_name || info.name || "Someone";
  return {
    name,
    username: user?.username ?? null,
    initials: user?.initials || initialsOf(name),
    color: info.color,
    avatar_url: user?.avatar_url ?? null,
    verified: user !== null,
    groups: user?.groups ?? [],
    widget: info.widget,
    kind: info.kind,
    host: info.host,
  };
}

/**
 * Ourselves before the server said who we are: the label, unverified.
 * @param {string} label
 * @param {string | null} color
 * @returns {Person}
 */
export function unverified(label, color) {
  const name = label || "guest";
  return {
    name,
    username: null,
    initials: initialsOf(name),
    color,
    avatar_url: null,
    verified: false,
    groups: [],
    widget: null,
    kind: "participant",
    host: false,
  };
}

/**
 * The colour JupyterLab (or Notebook 7) gave this browser's user, which their cursor
 * has in a shared notebook; null outside Jupyter or before Lab chose one.
 * @returns {string | null}
 */
export function labColor() {
  try {
    const stored = globalThis.localStorage?.getItem(LAB_USER_KEY);
    const identity = stored ? /** @type {unknown} */ (JSON.parse(stored)) : null;
    if (identity && typeof identity === "object" && "color" in identity) {
      return typeof identity.color === "string" ? identity.color : null;
    }
  } catch {
    // No storage (a sandboxed frame) or not JSON: no colour, nothing else is lost.
  }
  return null;
}

/** What marks a participant the server cannot vouch for, on their tile and chat. */
export const UNVERIFIED_LABEL = "unverified";
const UNVERIFIED_TITLE =
  "The server does not know who this is: the name and colour are what their own client says";

/**
 * The visible "unverified" tag shown next to the name of a participant whose record
 * carries no identity from the server (a script, a kernel, everyone on `nbconference
 * serve`), so that a label cannot pass for a verified person by name and colour alone.
 * @returns {HTMLElement}
 */
export function unverifiedTag() {
  const tag = document.createElement("span");
  tag.className = "nbc-unverified";
  tag.textContent = UNVERIFIED_LABEL;
  tag.title = UNVERIFIED_TITLE;
  return tag;
}

/**
 * A peer we know only by id (its first signal or feed came before the room told us of it).
 * @param {string} id
 * @returns {import("./protocol.js").PeerInfo}
 */
export function strangerInfo(id) {
  return {
    id,
    name: "",
    state: {},
    user: null,
    color: null,
    widget: null,
    kind: "participant",
    host: false,
  };
}
