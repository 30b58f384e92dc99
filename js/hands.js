// @ts-check
// Raised hands in a view: the queue in the order the hands went up (the server's stamps),
// a hand on each tile with its place, and who lowered whose hand last.
import { icon } from "./icons.js";

/**
 * @typedef {import("./snapshot.js").ConferenceSnapshot} ConferenceSnapshot
 * @typedef {{ id: string, name: string, hand: number, you: boolean, group?: string }} RaisedHand
 *   `group`: somebody in that breakout group asking for help (on a main room's page)
 */

/**
 * Everyone whose hand is up, ourselves included, first raised first; in the main room
 * of a breakout, those who ask for help in its groups too.
 * @param {ConferenceSnapshot} c
 * @returns {RaisedHand[]}
 */
export function handQueue(c) {
  /** @type {RaisedHand[]} */
  const queue = [];
  if (c.local.hand > 0) queue.push({ id: c.local.id, name: c.local.name, hand: c.local.hand, you: true });
  for (const peer of c.peers) {
    if (peer.hand > 0) queue.push({ id: peer.id, name: peer.name, hand: peer.hand, you: false });
  }
  if (c.breakout && !c.breakout.group) {
    for (const asking of c.breakout.help) {
      const name = `${asking.name || "Someone"} (in ${asking.group}, asks for help)`;
      queue.push({ id: asking.id, name, hand: asking.hand, you: false, group: asking.group });
    }
  }
  return queue.sort((a, b) => a.hand - b.hand || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * What to tell the person when `frame` says a hand was lowered ("" when it does not).
 * @param {import("./protocol.js").PeerStateFrame} frame
 * @param {string} selfId  our peer id
 * @param {(id: string) => string} nameOf  a peer's name
 */
export function loweredNote(frame, selfId, nameOf) {
  const { by, id } = frame;
  if (!by || frame.state.hand !== false) return "";
  if (id === selfId) return by === selfId ? "" : `${nameOf(by)} lowered your hand`;
  if (by === id) return `${nameOf(id)} lowered their hand`;
  return `${by === selfId ? "You" : nameOf(by)} lowered ${nameOf(id)}'s hand`;
}

/**
 * Show a tile's place in the queue (0: its hand is down).
 * @param {{ el: HTMLElement, label: HTMLElement }} tile @param {number} place
 */
export function markHand(tile, place) {
  let badge = /** @type {HTMLElement | null} */ (tile.el.querySelector(".nbc-hand"));
  if (!place) {
    badge?.remove();
    delete tile.el.dataset.hand;
    return;
  }
  if (!badge) {
    badge = document.createElement("span");
    badge.className = "nbc-hand";
    tile.el.append(badge);
  }
  if (tile.el.dataset.hand !== String(place)) badge.innerHTML = `${icon("hand")}<span>${place}</span>`;
  tile.el.dataset.hand = String(place);
  badge.title = place === 1 ? "Hand raised: first in line" : `Hand raised: number ${place} in line`;
}

/**
 * The queue of raised hands, each with a button to lower it where we may (our own; on a
 * host's page, anyone's, as a teacher does), and the last "who lowered whose hand". One
 * who asks for help from a breakout group has "Visit" on a host's page instead.
 * @param {(peerId: string) => void} lower
 * @param {(group: string) => void} [visit]
 */
export function handsPanel(lower, visit = () => {}) {
  const el = document.createElement("div");
  el.className = "nbc-hands";
  el.setAttribute("aria-label", "Raised hands");
  const list = document.createElement("ol");
  list.className = "nbc-hands-queue";
  const note = document.createElement("div");
  note.className = "nbc-hands-note";
  note.setAttribute("role", "status");
  el.append(list, note);

  return {
    el,
    /** @param {ConferenceSnapshot} c */
    update(c) {
      const queue = handQueue(c);
      const items = queue.map((raised) => {
        const item = document.createElement("li");
        item.dataset.peerId = raised.id;
        const name = document.createElement("span");
        name.textContent = raised.you ? `${raised.name} (you)` : raised.name;
        const button = document.createElement("button");
        button.type = "button";
        button.className = "nbc-button nbc-small";
        button.dataset.action = "lower-hand";
        button.textContent = "Lower";
        button.title = raised.you ? "Lower your hand" : `Lower ${raised.name}'s hand`;
        const group = raised.group;
        if (group !== undefined) {
          button.dataset.action = "visit-group";
          button.textContent = `Visit ${group}`;
          button.title = `Go to ${group} to help ${raised.name}`;
          button.addEventListener("click", () => visit(group));
        } else {
          button.addEventListener("click", () => lower(raised.id));
        }
        // Only a host may lower another's hand (the server refuses anyone else).
        button.hidden = !raised.you && !c.local.host;
        item.append(name, button);
        return item;
      });
      list.replaceChildren(...items);
      note.textContent = c.handNote;
      note.hidden = !c.handNote;
      el.hidden = queue.length === 0 && !c.handNote;
    },
  };
}
