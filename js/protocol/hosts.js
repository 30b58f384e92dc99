// @ts-check
// Hosts and their powers (src/nbconference/protocol/hosts.py): the requests only a host
// may make, and the frames that say who the hosts are and whom a host muted. The server
// decides who is a host; anyone else who asks gets `not-host` and nothing changes.

import { CLIENT, SERVER } from "./names.js";

/** How long a removed identity stays out, unless the host says otherwise. */
export const DEFAULT_BAN_MINUTES = 10;
/** The longest ban a host may give: a day. */
export const MAX_BAN_MINUTES = 24 * 60;
/** The devices a host may turn off. */
export const MUTE_DEVICES = Object.freeze(/** @type {const} */ (["microphone", "camera"]));

/**
 * @typedef {{ type: typeof CLIENT.MUTE, peer: string, microphone: boolean, camera: boolean }} MuteFrame
 * @typedef {{ type: typeof CLIENT.REMOVE, peer: string, ban_minutes: number }} RemoveFrame
 * @typedef {{ type: typeof CLIENT.END_CALL }} EndCallFrame
 * @typedef {{ type: typeof CLIENT.MAKE_HOST, peer: string }} MakeHostFrame
 * @typedef {MuteFrame | RemoveFrame | EndCallFrame | MakeHostFrame} HostRequestFrame
 *
 * @typedef {{ type: typeof SERVER.HOSTS, hosts: string[] }} HostsFrame  the ids of every
 *   host of the room, whenever they change
 * @typedef {object} MutedFrame  a host turned a participant's devices off
 * @property {typeof SERVER.MUTED} type
 * @property {string} id  whom
 * @property {string} by  the host's peer id ("" for a notebook's code that has not joined)
 * @property {string} name  the host, as people know them
 * @property {boolean} microphone
 * @property {boolean} camera
 * @typedef {{ type: typeof SERVER.DONE, request: string }} DoneFrame  a request that
 *   carried this id took effect
 */

/**
 * Turn `peer`'s microphone and/or camera off; only they can turn them on again.
 * @param {string} peer @param {{ microphone?: boolean, camera?: boolean }} devices
 * @returns {MuteFrame}
 */
export function muteMessage(peer, { microphone = true, camera = false } = {}) {
  return { type: CLIENT.MUTE, peer, microphone, camera };
}

/**
 * Remove `peer`; their identity may not rejoin for `banMinutes` (0: at once).
 * @param {string} peer @param {number} [banMinutes] @returns {RemoveFrame}
 */
export function removeMessage(peer, banMinutes = DEFAULT_BAN_MINUTES) {
  return { type: CLIENT.REMOVE, peer, ban_minutes: banMinutes };
}

/** End the call for everyone in the room. @returns {EndCallFrame} */
export function endCallMessage() {
  return { type: CLIENT.END_CALL };
}

/** Make `peer` a host too. @param {string} peer @returns {MakeHostFrame} */
export function makeHostMessage(peer) {
  return { type: CLIENT.MAKE_HOST, peer };
}
