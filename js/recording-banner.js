// @ts-check
// Recording, with consent visible to all: a participant of kind "recorder"
// (nbconference.Recorder in some kernel) writes the call to disk. It has no camera or
// voice and is not a person in the call: the page shows it in a red banner naming who
// started it (as the server knows them, never as the recorder says), never as a tile.
// Everything else (links, what it is sent) treats it as a peer like any other.
import { RECORDER_KIND } from "./protocol.js";

/**
 * @typedef {object} Recorder  who is recording the call
 * @property {string} id  the recorder's peer id
 * @property {string} name  who started it: the name of the identity the server stamped
 *   on the recorder, else "a kernel on <server>"; never the recorder's own words
 */

/** Where this page's server is, for a recorder the server knows no one for. */
function pageServer() {
  return globalThis.location?.host || "this server";
}

/**
 * The roster's people (tiles, counts) apart from its recorders (the banner).
 *
 * A recorder's label is free text ("nothing is saved"): the banner names who started it
 * only from the identity the server stamped on it (`verified`). One without (a kernel
 * that joined with the server's token) is "a kernel on <server>".
 * @template {{ id: string, name: string, kind: string, verified?: boolean }} R
 * @param {R[]} roster
 * @param {string} [server]  where the recorders joined (default: this page's host)
 * @returns {{ people: R[], recorders: Recorder[] }}
 */
export function splitRecorders(roster, server = pageServer()) {
  /** @type {R[]} */
  const people = [];
  /** @type {Recorder[]} */
  const recorders = [];
  for (const record of roster) {
    if (record.kind !== RECORDER_KIND) {
      people.push(record);
      continue;
    }
    const name = record.verified === true ? record.name : `a kernel on ${server}`;
    recorders.push({ id: record.id, name });
  }
  return { people, recorders };
}

/**
 * What the banner says: who started the recording(s).
 * @param {readonly Recorder[]} recorders
 */
export function bannerText(recorders) {
  const names = [...new Set(recorders.map((r) => r.name || "someone"))];
  const who = names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names.at(-1)}` : names[0];
  return `Recording · started by ${who}. Everything you say and show is being recorded.`;
}

/**
 * The banner's element; `update(recorders, note)` shows it while there is a recorder,
 * with `note` after its sentence (what is not recorded), if any.
 * @returns {{ el: HTMLElement, update(recorders: readonly Recorder[], note?: string): void }}
 */
export function recordingBanner() {
  const el = document.createElement("div");
  el.className = "nbc-recording";
  el.setAttribute("role", "status");
  el.setAttribute("aria-live", "assertive");
  el.hidden = true;
  const dot = document.createElement("span");
  dot.className = "nbc-recording-dot";
  const text = document.createElement("span");
  text.className = "nbc-recording-text";
  el.append(dot, text);
  return {
    el,
    update(recorders, note = "") {
      el.hidden = recorders.length === 0;
      el.dataset.recorders = recorders.map((r) => r.id).join(" ");
      const said = recorders.length ? `${bannerText(recorders)}${note ? ` ${note}` : ""}` : "";
      if (text.textContent !== said) text.textContent = said;
    },
  };
}
