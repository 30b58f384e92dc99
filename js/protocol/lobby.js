// @ts-check
// The lobby of a locked room (src/nbconference/protocol/lobby.py): a newcomer who does
// not host the room waits there, told `waiting` and nothing else of the room, until a
// host lets it in (`admit`: its welcome comes) or does not (`deny`: its socket closes
// with CLOSE_DENIED). Those who may act as hosts get `lobby`: locked or not, who waits.

import { CLIENT, SERVER } from "./names.js";
import { isObject } from "./read.js";

/** What a newcomer of a locked room is told, in the `waiting` frame. */
export const WAITING_MESSAGE = "waiting for a host to let you in";
/** The fields of each entry of a `lobby` frame's `waiting`, in this order. */
export const LOBBY_ENTRY_FIELDS = Object.freeze(
  /** @type {const} */ (["id", "name", "username", "waiting_since"]),
);

/**
 * @typedef {{ type: typeof CLIENT.LOCK }} LockFrame
 * @typedef {{ type: typeof CLIENT.UNLOCK }} UnlockFrame
 * @typedef {{ type: typeof CLIENT.ADMIT, peer: string }} AdmitFrame
 * @typedef {{ type: typeof CLIENT.DENY, peer: string }} DenyFrame
 * @typedef {LockFrame | UnlockFrame | AdmitFrame | DenyFrame} LobbyRequestFrame
 *
 * @typedef {object} WaitingFrame  to us: we wait in the lobby of a locked room
 * @property {typeof SERVER.WAITING} type
 * @property {string} id  our peer id (the same once a host lets us in)
 * @property {string | null} resume  the token that brings us back to the lobby after a drop
 * @property {string} room
 * @property {number} waiting_since  when we started waiting (ms since 1970)
 * @property {string} message  for people
 *
 * @typedef {object} LobbyEntry  one person waiting
 * @property {string} id
 * @property {string} name
 * @property {string} username  "" where the server knows nobody
 * @property {number} waiting_since  ms since 1970
 *
 * @typedef {object} LobbyFrame  to those who may act as hosts: the lobby now
 * @property {typeof SERVER.LOBBY} type
 * @property {boolean} locked
 * @property {LobbyEntry[]} waiting  first come first
 */

/** Lock the room: newcomers wait in the lobby. @returns {LockFrame} */
export function lockMessage() {
  return { type: CLIENT.LOCK };
}

/** Unlock the room: newcomers, and everyone waiting, come in. @returns {UnlockFrame} */
export function unlockMessage() {
  return { type: CLIENT.UNLOCK };
}

/** Let `peer` in from the lobby. @param {string} peer @returns {AdmitFrame} */
export function admitMessage(peer) {
  return { type: CLIENT.ADMIT, peer };
}

/** Do not let `peer` in: its socket closes for good. @param {string} peer @returns {DenyFrame} */
export function denyMessage(peer) {
  return { type: CLIENT.DENY, peer };
}

/** @param {unknown} value @returns {LobbyEntry | null} */
function readEntry(value) {
  if (!isObject(value) || typeof value.id !== "string" || !value.id) return null;
  const since = value.waiting_since;
  return {
    id: value.id,
    name: typeof value.name === "string" ? value.name : "",
    username: typeof value.username === "string" ? value.username : "",
    waiting_since: typeof since === "number" && Number.isFinite(since) ? since : 0,
  };
}

/**
 * A lobby frame (`waiting` or `lobby`), checked; null when it is not one we can use.
 * @param {Record<string, unknown>} value  a parsed frame whose type is one of them
 * @returns {WaitingFrame | LobbyFrame | null}
 */
export function readLobbyFrame(value) {
  if (value.type === SERVER.WAITING) {
    if (typeof value.id !== "string" || typeof value.room !== "string") return null;
    const since = value.waiting_since;
    return {
      type: SERVER.WAITING,
      id: value.id,
      resume: typeof value.resume === "string" ? value.resume : null,
      room: value.room,
      waiting_since: typeof since === "number" && Number.isFinite(since) ? since : Date.now(),
      message: typeof value.message === "string" ? value.message : WAITING_MESSAGE,
    };
  }
  if (value.type === SERVER.LOBBY) {
    if (!Array.isArray(value.waiting)) return null;
    const waiting = value.waiting.map(readEntry).filter((entry) => entry !== null);
    return { type: SERVER.LOBBY, locked: value.locked === true, waiting };
  }
  return null;
}
