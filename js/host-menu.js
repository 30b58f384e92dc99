// @ts-check
// A host's controls in a view: the menu on each remote tile (mute, camera off, lower
// hand, make host, remove) and what a page a host muted says (the "Host" tag on a host's
// tile is tiles.js'). Only the server decides who is a host and enforces it: these ask.
import { h } from "./tiles.js";

/**
 * @typedef {import("./conference.js").ConferenceView} ConferenceView
 * @typedef {import("./snapshot.js").ConferenceSnapshot} ConferenceSnapshot
 * @typedef {import("./mesh.js").PeerRecord} PeerRecord
 * @typedef {import("./tiles.js").Tile} Tile
 */

/** How long a participant a host removes from the page stays out (minutes). */
export const REMOVE_BAN_MINUTES = 10;

/**
 * @typedef {object} HostItem  one entry of a tile's host menu
 * @property {string} action  its data-action
 * @property {(peer: Readonly<PeerRecord>) => string} label  for people
 * @property {(peer: Readonly<PeerRecord>) => boolean} shown
 * @property {(conference: ConferenceView, peer: Readonly<PeerRecord>) => void} run
 */

/** @type {HostItem[]} */
const ITEMS = [
  {
    action: "host-mute",
    label: (peer) => `Mute ${peer.name}`,
    shown: (peer) => peer.microphone,
    run: (conference, peer) => conference.mute(peer.id, { microphone: true }),
  },
  {
    action: "host-camera-off",
    label: (peer) => `Turn off ${peer.name}'s camera`,
    shown: (peer) => peer.camera,
    run: (conference, peer) => conference.mute(peer.id, { microphone: false, camera: true }),
  },
  {
    action: "host-lower-hand",
    label: (peer) => `Lower ${peer.name}'s hand`,
    shown: (peer) => peer.hand > 0,
    run: (conference, peer) => conference.lowerHand(peer.id),
  },
  {
    action: "host-make-host",
    label: (peer) => `Make ${peer.name} a host`,
    shown: (peer) => !peer.host,
    run: (conference, peer) => conference.makeHost(peer.id),
  },
  {
    action: "host-remove",
    label: (peer) => `Remove ${peer.name} from the call`,
    shown: () => true,
    run: (conference, peer) => conference.remove(peer.id, REMOVE_BAN_MINUTES),
  },
];

/**
 * The host menu of the remote tiles of one view: shown on a host's page only.
 * @param {ConferenceView} conference
 */
export function hostMenus(conference) {
  /** @type {WeakMap<HTMLElement, ReturnType<typeof tileMenu>>} */
  const menus = new WeakMap();
  return {
    /**
     * Give `tile` (a remote peer's camera) its menu while we are a host, and take it
     * away when we are not.
     * @param {Tile} tile @param {Readonly<PeerRecord>} peer @param {ConferenceSnapshot} c
     */
    update(tile, peer, c) {
      let menu = menus.get(tile.el);
      const hosting = c.local.host && c.status === "joined";
      if (!hosting) {
        if (menu) {
          menu.el.remove();
          menus.delete(tile.el);
          delete tile.el.dataset.hostActions;
        }
        return;
      }
      if (!menu) {
        menu = tileMenu(conference);
        menus.set(tile.el, menu);
        tile.el.append(menu.el);
        tile.el.dataset.hostActions = "";
      }
      menu.update(peer);
    },
  };
}

/**
 * One tile's button and menu, built once and updated: a button redrawn under the
 * pointer can lose the click.
 * @param {ConferenceView} conference
 */
function tileMenu(conference) {
  const el = h("div", "nbc-host-actions");
  const button = /** @type {HTMLButtonElement} */ (h("button", "nbc-button nbc-small"));
  button.type = "button";
  button.dataset.action = "host-menu";
  button.textContent = "⋯";
  button.setAttribute("aria-haspopup", "menu");
  button.setAttribute("aria-expanded", "false");
  const menu = h("div", "nbc-host-menu");
  menu.setAttribute("role", "menu");
  menu.hidden = true;
  /** @type {Readonly<PeerRecord> | null} */
  let current = null;
  const close = () => {
    menu.hidden = true;
    button.setAttribute("aria-expanded", "false");
  };
  button.addEventListener("click", () => {
    menu.hidden = !menu.hidden;
    button.setAttribute("aria-expanded", String(!menu.hidden));
    const first = /** @type {HTMLElement | null} */ (menu.querySelector("button:not([hidden])"));
    if (!menu.hidden) first?.focus();
  });
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      close();
      button.focus();
    }
  });
  const items = ITEMS.map((item) => {
    const entry = /** @type {HTMLButtonElement} */ (h("button", "nbc-menu-item"));
    entry.type = "button";
    entry.setAttribute("role", "menuitem");
    entry.dataset.action = item.action;
    if (item.action === "host-remove") entry.classList.add("nbc-menu-danger");
    entry.addEventListener("click", () => {
      close();
      if (current) item.run(conference, current);
    });
    menu.append(entry);
    return { item, entry };
  });
  el.append(button, menu);
  return {
    el,
    /** @param {Readonly<PeerRecord>} peer */
    update(peer) {
      current = peer;
      const label = `Host actions for ${peer.name}`;
      if (button.getAttribute("aria-label") !== label) {
        button.setAttribute("aria-label", label);
        button.title = label;
        menu.setAttribute("aria-label", label);
      }
      for (const { item, entry } of items) {
        entry.hidden = !item.shown(peer);
        const text = item.label(peer);
        if (entry.textContent !== text) entry.textContent = text;
      }
    },
  };
}

/**
 * What our page says while a host's mute holds, in a line of its own.
 * @returns {{ el: HTMLElement, update(c: ConferenceSnapshot): void }}
 */
export function hostMuteNotice() {
  const el = h("div", "nbc-notice nbc-host-mute");
  el.setAttribute("role", "status");
  el.hidden = true;
  return {
    el,
    update(c) {
      const text = c.status === "joined" ? c.hostMute : "";
      if (el.textContent !== text) el.textContent = text;
      el.hidden = !text;
    },
  };
}
