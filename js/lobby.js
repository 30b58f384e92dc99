// @ts-check
// The lobby of a locked room on the page. The server decides who waits and who sees the
// lobby (docs/protocol.md, "The lobby"): a waiting page is told `waiting` and nothing
// else of the room; a page that may act as a host gets `lobby` frames.
//
// - LobbyWatch (one per call): what the lobby frames said, and a short chime when
//   somebody starts waiting (once per call, however many views show it);
// - lobbyPanel (per view): on a host's page, who waits, with a count and Admit / Deny;
// - waitingNotice (per view): on a waiting page, "Waiting for a host to let you in".
import { h } from "./tiles.js";

/**
 * @typedef {import("./protocol.js").LobbyFrame} LobbyFrame
 * @typedef {import("./protocol.js").LobbyEntry} LobbyEntry
 * @typedef {import("./snapshot.js").ConferenceSnapshot} ConferenceSnapshot
 *
 * @typedef {object} LobbySnapshot  the lobby as a page that may run it sees it
 * @property {boolean} locked  newcomers wait until a host lets them in
 * @property {readonly Readonly<LobbyEntry>[]} waiting  first come first
 *
 * @typedef {object} LobbyActions  what the panel asks of the call
 * @property {(peerId: string) => void} admit
 * @property {(peerId: string) => void} deny
 */

/** What a waiting page says. */
export const WAITING_TEXT = "Waiting for a host to let you in";

/** @type {Readonly<LobbySnapshot>} */
const UNLOCKED = Object.freeze({ locked: false, waiting: Object.freeze([]) });

/** A short two-note chime (WebAudio), for a host: somebody knocks. Never throws. */
function chime() {
  try {
    const context = new AudioContext();
    const gain = context.createGain();
    gain.connect(context.destination);
    const start = context.currentTime;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.15, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.45);
    /** @type {[number, number][]} each note: its frequency (Hz) and when it starts (s) */
    const notes = [
      [660, 0],
      [880, 0.16],
    ];
    for (const [frequency, at] of notes) {
      const tone = context.createOscillator();
      tone.frequency.value = frequency;
      tone.connect(gain);
      tone.start(start + at);
      tone.stop(start + at + 0.25);
    }
    setTimeout(() => void context.close(), 800);
  } catch (error) {
    console.info("nbconference: no chime for the lobby:", error);
  }
}

/** The lobby of one call, as the server's frames say it. */
export class LobbyWatch {
  /** @type {LobbyFrame | null} the last lobby frame, null until one came */
  #frame = null;
  /** @type {Set<string>} who we have chimed for */
  #heard = new Set();
  /** @type {() => void} */ #changed;
  /** @type {() => void} */ #ring;

  /**
   * @param {() => void} changed  the call's snapshot changed
   * @param {() => void} [ring]  the sound of somebody starting to wait (a chime)
   */
  constructor(changed, ring = chime) {
    this.#changed = changed;
    this.#ring = ring;
  }

  /** A `lobby` frame: we may run the lobby. @param {LobbyFrame} frame */
  heard(frame) {
    const newcomer = frame.waiting.some((entry) => !this.#heard.has(entry.id));
    for (const entry of frame.waiting) this.#heard.add(entry.id);
    this.#frame = frame;
    if (newcomer) this.#ring();
    this.#changed();
  }

  /**
   * The lobby for the snapshot: what the server last said, or (a host that has heard
   * nothing yet) an unlocked room; null for a page that may not run it.
   * @param {boolean} host  the server marks us a host of the room
   * @returns {Readonly<LobbySnapshot> | null}
   */
  snapshot(host) {
    const frame = this.#frame;
    if (frame) return Object.freeze({ locked: frame.locked, waiting: Object.freeze(frame.waiting) });
    return host ? UNLOCKED : null;
  }

  /** We left the call: nothing heard any more. */
  clear() {
    this.#frame = null;
    this.#heard.clear();
  }
}

/**
 * One person waiting: a row built once and updated (a button redrawn under the pointer
 * can lose the click).
 * @param {LobbyActions} actions
 */
function waitingRow(actions) {
  const el = h("li", "nbc-lobby-entry");
  const name = h("span", "nbc-lobby-name");
  const since = h("span", "nbc-lobby-since");
  /** @param {string} action @param {string} text @param {(id: string) => void} run */
  const button = (action, text, run) => {
    const b = /** @type {HTMLButtonElement} */ (h("button", "nbc-button nbc-small"));
    b.type = "button";
    b.dataset.action = action;
    b.textContent = text;
    b.addEventListener("click", () => {
      b.disabled = true; // once: the next lobby frame takes the row away
      run(el.dataset.peerId ?? "");
    });
    return b;
  };
  const admit = button("lobby-admit", "Admit", actions.admit);
  admit.classList.add("nbc-primary");
  const deny = button("lobby-deny", "Deny", actions.deny);
  el.append(name, since, admit, deny);
  return {
    el,
    /** @param {Readonly<LobbyEntry>} entry */
    update(entry) {
      el.dataset.peerId = entry.id;
      const shown = entry.name || "Someone";
      if (name.textContent !== shown) name.textContent = shown;
      // Who the server says they are, where it knows (a label is only what they typed).
      name.title = entry.username ? `Signed in as ${entry.username}` : "Not signed in: a name they typed";
      const minutes = Math.floor((Date.now() - entry.waiting_since) / 60000);
      since.textContent = minutes >= 1 ? `waiting ${minutes} min` : "just now";
      admit.setAttribute("aria-label", `Admit ${shown}`);
      deny.setAttribute("aria-label", `Deny ${shown}`);
      admit.title = `Let ${shown} into the call`;
      deny.title = `Do not let ${shown} in`;
    },
  };
}

/**
 * On a host's page: who waits in the lobby, a count, and Admit / Deny for each. Hidden
 * while nobody waits.
 * @param {LobbyActions} actions
 */
export function lobbyPanel(actions) {
  const el = h("section", "nbc-lobby");
  el.setAttribute("aria-label", "Lobby");
  const heading = h("div", "nbc-lobby-count");
  heading.setAttribute("role", "status");
  heading.setAttribute("aria-live", "polite");
  const list = h("ul", "nbc-lobby-list");
  el.append(heading, list);
  el.hidden = true;
  /** @type {Map<string, ReturnType<typeof waitingRow>>} */
  const rows = new Map();
  return {
    el,
    /** @param {ConferenceSnapshot} c */
    update(c) {
      const waiting = c.status === "joined" ? (c.lobby?.waiting ?? []) : [];
      el.hidden = waiting.length === 0;
      el.dataset.count = String(waiting.length);
      const count =
        waiting.length === 1 ? "1 person is waiting to join" : `${waiting.length} people are waiting to join`;
      if (heading.textContent !== count) heading.textContent = count;
      const ids = new Set(waiting.map((entry) => entry.id));
      for (const [id, row] of rows) {
        if (!ids.has(id)) {
          row.el.remove();
          rows.delete(id);
        }
      }
      for (const entry of waiting) {
        let row = rows.get(entry.id);
        if (!row) {
          row = waitingRow(actions);
          rows.set(entry.id, row);
        }
        row.update(entry);
        list.append(row.el); // in the server's order
      }
    },
  };
}

/** On a waiting page: why nothing of the call shows. */
export function waitingNotice() {
  const el = h("div", "nbc-notice nbc-waiting");
  el.setAttribute("role", "status");
  el.textContent = `${WAITING_TEXT}…`;
  el.hidden = true;
  return {
    el,
    /** @param {ConferenceSnapshot} c */
    update(c) {
      el.hidden = c.status !== "waiting";
    },
  };
}
