// @ts-check
// Breakout rooms on the page. The server decides who goes where and moves each page on
// its own socket (docs/protocol.md, "Breakout rooms"): a `moved` frame, then a welcome
// to the group's room with our id. The call keeps its devices; the planes start over
// with the group's members. `breakouts` says what runs and how long it has left.
//
// - BreakoutWatch (one per call): our group, the groups, and when the breakout ends;
// - breakoutBanner (per view): "In group-a (breakout, 7:42 left)", a countdown on every
//   page of the room, and for a host "Visit" each group, "Back to the main room" and
//   "End breakout now";
// - breakoutStarter (per view): a host's "Split into 2 groups for 10 minutes".
import { DEFAULT_BREAKOUT_MINUTES, MAX_BREAKOUT_MINUTES, MAX_GROUPS } from "./protocol.js";
import { h } from "./tiles.js";

/**
 * @typedef {import("./protocol.js").MovedFrame} MovedFrame
 * @typedef {import("./protocol.js").BreakoutsFrame} BreakoutsFrame
 * @typedef {import("./snapshot.js").ConferenceSnapshot} ConferenceSnapshot
 *
 * @typedef {object} BreakoutSnapshot  a breakout of our room, while one runs
 * @property {string} group  the group we are in, "" in the main room
 * @property {string} main  the main room
 * @property {Readonly<Record<string, string[]>>} groups  each group's name and the peer
 *   ids a host put in it
 * @property {number} endsAt  when it ends (this page's clock, epoch ms)
 * @property {readonly Readonly<import("./protocol.js").HelpEntry>[]} help  who in a group
 *   asks for help (raised their hand there), first asked first
 */

/** What a group page says of recording: recorders stay in the main room. */
export const GROUPS_NOT_RECORDED = "Breakout groups are not recorded.";

/** The breakout of one call, as the server's frames say it. */
export class BreakoutWatch {
  #group = "";
  #main = "";
  /** @type {Record<string, string[]>} */ #groups = {};
  #endsAt = 0;
  /** @type {import("./protocol.js").HelpEntry[]} */ #help = [];
  /** @type {() => void} */ #changed;

  /** @param {() => void} changed  the call's snapshot changed */
  constructor(changed) {
    this.#changed = changed;
  }

  /** The server moved us: to a group, or back ("" group). @param {MovedFrame} frame */
  moved(frame) {
    this.#group = frame.group;
    this.#main = frame.main;
    if (!frame.group) {
      this.#groups = {};
      this.#endsAt = 0;
      this.#help = [];
    }
    this.#changed();
  }

  /** What runs now. @param {BreakoutsFrame} frame */
  heard(frame) {
    this.#main = frame.main;
    this.#groups = frame.groups;
    const running = Object.keys(frame.groups).length > 0 && frame.seconds_left > 0;
    this.#endsAt = running ? Date.now() + frame.seconds_left * 1000 : 0;
    this.#help = running ? frame.help : [];
    if (!running) this.#groups = {};
    this.#changed();
  }

  /** The breakout for the snapshot; null while none runs and we are in our room. */
  snapshot() {
    if (!this.#group && this.#endsAt === 0) return null;
    /** @type {BreakoutSnapshot} */
    const snapshot = {
      group: this.#group,
      main: this.#main,
      groups: Object.freeze({ ...this.#groups }),
      endsAt: this.#endsAt,
      help: Object.freeze([...this.#help]),
    };
    return Object.freeze(snapshot);
  }

  /** We left the call. */
  clear() {
    this.#group = "";
    this.#main = "";
    this.#groups = {};
    this.#endsAt = 0;
    this.#help = [];
  }
}

/** `ms` as a countdown: "7:42", or "1:02:05" past an hour. @param {number} ms */
export function countdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

/**
 * What the banner says, as of `now`.
 * @param {Readonly<BreakoutSnapshot>} breakout @param {number} [now]
 */
export function breakoutText(breakout, now = Date.now()) {
  const left = breakout.endsAt ? `, ${countdown(breakout.endsAt - now)} left` : "";
  if (breakout.group) return `In ${breakout.group} (breakout${left}) · ${GROUPS_NOT_RECORDED}`;
  const count = Object.keys(breakout.groups).length;
  const groups = count === 1 ? "1 breakout group is" : `${count} breakout groups are`;
  return `${groups} meeting${left.replace(",", ":")}; everyone comes back when it ends.`;
}

/**
 * The banner of a view: shown while a breakout of the room runs, its countdown ticking
 * once a second (until the breakout ends or the view is gone), with a host's buttons.
 * @param {{ endBreakout: () => void, visit: (group: string) => void }} actions
 */
export function breakoutBanner(actions) {
  const el = h("div", "nbc-breakout");
  el.setAttribute("role", "timer");
  el.hidden = true;
  const text = h("span", "nbc-breakout-text");
  const end = /** @type {HTMLButtonElement} */ (h("button", "nbc-button nbc-small"));
  end.type = "button";
  end.dataset.action = "end-breakout";
  end.textContent = "End breakout now";
  end.addEventListener("click", () => {
    end.disabled = true; // once: the server's frames take the banner away
    actions.endBreakout();
  });
  const visits = h("span", "nbc-breakout-visits");
  /** the groups the visit buttons are for, joined */
  let visitsFor = "";
  /** @param {string} group  "" for the main room */
  const visitButton = (group) => {
    const b = /** @type {HTMLButtonElement} */ (h("button", "nbc-button nbc-small"));
    b.type = "button";
    b.dataset.action = "visit-group";
    b.dataset.group = group;
    b.textContent = group ? `Visit ${group}` : "Back to the main room";
    b.addEventListener("click", () => actions.visit(group));
    return b;
  };
  el.append(text, visits, end);
  /** @type {Readonly<BreakoutSnapshot> | null} */
  let shown = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let ticker;
  const tick = () => {
    if (!shown || !el.isConnected) {
      clearInterval(ticker);
      ticker = undefined;
      return;
    }
    const said = breakoutText(shown);
    if (text.textContent !== said) text.textContent = said;
  };
  return {
    el,
    /** @param {ConferenceSnapshot} c */
    update(c) {
      shown = c.status === "joined" || c.status === "reconnecting" ? c.breakout : null;
      el.hidden = shown === null;
      el.dataset.group = shown?.group ?? "";
      end.hidden = !c.local.host || !shown;
      visits.hidden = end.hidden;
      if (!shown) {
        end.disabled = false;
        text.textContent = "";
        return;
      }
      const groups = Object.keys(shown.groups);
      if (groups.join(" ") !== visitsFor) {
        visitsFor = groups.join(" ");
        visits.replaceChildren(...["", ...groups].map(visitButton));
      }
      for (const b of /** @type {HTMLButtonElement[]} */ ([...visits.children])) {
        b.hidden = b.dataset.group === shown.group;
      }
      const said = breakoutText(shown);
      if (text.textContent !== said) text.textContent = said;
      ticker ??= setInterval(tick, 1000);
    },
  };
}

/**
 * On a host's page while no breakout runs: "Breakout rooms", folded, opening to "Split
 * into [2] groups for [10] minutes [Start]" (the server deals the participants).
 * @param {{ breakout: (split: { n_groups: number }, minutes: number) => void }} actions
 */
export function breakoutStarter(actions) {
  const el = /** @type {HTMLDetailsElement} */ (h("details", "nbc-breakout-start"));
  const summary = h("summary");
  summary.textContent = "Breakout rooms";
  /** @param {string} label @param {number} value @param {number} max */
  const number = (label, value, max) => {
    const input = /** @type {HTMLInputElement} */ (h("input", "nbc-breakout-number"));
    input.type = "number";
    input.min = "1";
    input.max = String(max);
    input.value = String(value);
    input.setAttribute("aria-label", label);
    return input;
  };
  const groups = number("Number of groups", 2, MAX_GROUPS);
  groups.dataset.field = "groups";
  const minutes = number("Minutes", DEFAULT_BREAKOUT_MINUTES, MAX_BREAKOUT_MINUTES);
  minutes.dataset.field = "minutes";
  const start = /** @type {HTMLButtonElement} */ (h("button", "nbc-button nbc-small nbc-primary"));
  start.type = "button";
  start.dataset.action = "start-breakout";
  start.textContent = "Start";
  start.title = "Deal the participants (hosts and recorders stay) into groups; all come back at the end";
  start.addEventListener("click", () => {
    const n = Math.round(Number(groups.value));
    const length = Number(minutes.value);
    if (!(n >= 1 && n <= MAX_GROUPS) || !(length >= 1 && length <= MAX_BREAKOUT_MINUTES)) return;
    el.open = false;
    actions.breakout({ n_groups: n }, length);
  });
  const form = h("span", "nbc-breakout-form");
  const into = h("span");
  into.textContent = "Split into";
  const during = h("span");
  during.textContent = "groups for";
  const unit = h("span");
  unit.textContent = "minutes";
  form.append(into, groups, during, minutes, unit, start);
  el.append(summary, form);
  el.hidden = true;
  return {
    el,
    /** @param {ConferenceSnapshot} c */
    update(c) {
      el.hidden = !(c.local.host && c.status === "joined" && !c.breakout && c.peers.length > 0);
      if (el.hidden) el.open = false;
    },
  };
}
