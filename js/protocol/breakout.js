// @ts-check
// Breakout rooms (src/nbconference/protocol/breakout.py): a host splits a room into named
// groups for a while. The server moves each participant it assigned on its own socket:
// `moved` (the room we are in from now on), then a welcome to that room with our id.
// `breakouts` tells the main room and every group what runs: the groups and the seconds
// left (`{}` and 0 once it ended). A host moves itself to a group (`visit`) and back ("").
// The three requests are a host's: `not-host` for anyone else.

import { CLIENT, SERVER } from "./names.js";
import { isObject } from "./read.js";

/** A group's name: short, and fit to be part of a room name. */
export const GROUP_PATTERN = /^[A-Za-z0-9_-]{1,16}$/;
/** What a group room's name carries between the main room's name and the group's. */
export const BREAKOUT_MARK = ".breakout.";
export const MAX_GROUPS = 20;
/** How long a breakout may last, in minutes: from a second to a day. */
export const MIN_BREAKOUT_MINUTES = 1 / 60;
export const MAX_BREAKOUT_MINUTES = 24 * 60;
export const DEFAULT_BREAKOUT_MINUTES = 10;
/** The fields of each entry of a `breakouts` frame's `help`, in this order. */
export const HELP_ENTRY_FIELDS = Object.freeze(/** @type {const} */ (["id", "name", "group", "hand"]));

/**
 * @typedef {{ type: typeof CLIENT.BREAKOUT, minutes: number, groups?: Record<string, string[]>, n_groups?: number }} BreakoutFrame
 * @typedef {{ type: typeof CLIENT.END_BREAKOUT }} EndBreakoutFrame
 * @typedef {{ type: typeof CLIENT.VISIT, group: string }} VisitFrame
 * @typedef {BreakoutFrame | EndBreakoutFrame | VisitFrame} BreakoutRequestFrame
 *
 * @typedef {object} MovedFrame  the server moves us: our welcome to `room` follows
 * @property {typeof SERVER.MOVED} type
 * @property {string} room  the room we are in from now on
 * @property {string} group  our breakout group, "" back in the main room
 * @property {string} main  the main room
 *
 * @typedef {object} BreakoutsFrame  the breakout of our main room now
 * @property {typeof SERVER.BREAKOUTS} type
 * @property {string} main
 * @property {Record<string, string[]>} groups  each group's name and the peer ids a host
 *   put in it; {} when none runs
 * @property {number} seconds_left  0 when none runs
 * @property {HelpEntry[]} help  who in a group asks for help, first asked first
 *
 * @typedef {object} HelpEntry  somebody in a group raised their hand
 * @property {string} id
 * @property {string} name
 * @property {string} group
 * @property {number} hand  when it went up (ms since 1970): its place in a queue
 */

/**
 * Split the room into `groups` (name: peer ids), or `n_groups` the server deals, for
 * `minutes`.
 * @param {{ groups?: Record<string, string[]>, n_groups?: number }} split
 * @param {number} [minutes]
 * @returns {BreakoutFrame}
 */
export function breakoutMessage(split, minutes = DEFAULT_BREAKOUT_MINUTES) {
  /** @type {BreakoutFrame} */
  const msg = { type: CLIENT.BREAKOUT, minutes };
  if (split.groups) msg.groups = split.groups;
  if (split.n_groups !== undefined) msg.n_groups = split.n_groups;
  return msg;
}

/** Bring everyone back to the main room now. @returns {EndBreakoutFrame} */
export function endBreakoutMessage() {
  return { type: CLIENT.END_BREAKOUT };
}

/** Visit `group` (a host), or go back to the main room (""). @param {string} group @returns {VisitFrame} */
export function visitMessage(group) {
  return { type: CLIENT.VISIT, group };
}

/** @param {unknown} value @returns {Record<string, string[]>} */
function readGroups(value) {
  /** @type {Record<string, string[]>} */
  const groups = {};
  if (!isObject(value)) return groups;
  for (const [name, peers] of Object.entries(value)) {
    if (!GROUP_PATTERN.test(name) || !Array.isArray(peers)) continue;
    groups[name] = peers.filter((peer) => typeof peer === "string");
  }
  return groups;
}

/** @param {unknown} value @returns {HelpEntry | null} */
function readHelp(value) {
  if (!isObject(value) || typeof value.id !== "string" || typeof value.group !== "string") return null;
  const hand = value.hand;
  return {
    id: value.id,
    name: typeof value.name === "string" ? value.name : "",
    group: value.group,
    hand: typeof hand === "number" && Number.isFinite(hand) && hand > 0 ? hand : 1,
  };
}

/**
 * A breakout frame (`moved` or `breakouts`), checked; null when it is not one we can use.
 * @param {Record<string, unknown>} value  a parsed frame whose type is one of them
 * @returns {MovedFrame | BreakoutsFrame | null}
 */
export function readBreakoutFrame(value) {
  if (value.type === SERVER.MOVED) {
    if (typeof value.room !== "string" || !value.room || typeof value.main !== "string") return null;
    const group = typeof value.group === "string" ? value.group : "";
    return { type: SERVER.MOVED, room: value.room, group, main: value.main };
  }
  if (value.type === SERVER.BREAKOUTS) {
    if (typeof value.main !== "string") return null;
    const left = value.seconds_left;
    return {
      type: SERVER.BREAKOUTS,
      main: value.main,
      groups: readGroups(value.groups),
      seconds_left: typeof left === "number" && Number.isFinite(left) && left > 0 ? left : 0,
      help: Array.isArray(value.help) ? value.help.map(readHelp).filter((entry) => entry !== null) : [],
    };
  }
  return null;
}
