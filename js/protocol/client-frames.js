// @ts-check
// Frames a client sends (src/nbconference/protocol/client_frames.py), made only by the
// builders here and in chat.js.

import { CLIENT, COLOR_PATTERN, MAX_NAME_CHARS, WIDGET_TAG_PATTERN } from "./names.js";

/**
 * @import { PeerState, SignalData } from "./names.js"
 * @import { ChatMessageFrame, LowerHandFrame } from "./chat.js"
 * @import { HostRequestFrame } from "./hosts.js"
 * @import { LobbyRequestFrame } from "./lobby.js"
 * @import { BreakoutRequestFrame } from "./breakout.js"
 */

/**
 * @typedef {{ type: typeof CLIENT.JOIN, room: string, name: string, state: PeerState, resume?: string, widget?: string, color?: string }} JoinFrame
 * @typedef {{ type: typeof CLIENT.SIGNAL, to: string, data: SignalData }} SignalFrame
 * @typedef {{ type: typeof CLIENT.STATE, state: PeerState }} StateFrame
 * @typedef {{ type: typeof CLIENT.LEAVE }} LeaveFrame
 * @typedef {{ type: typeof CLIENT.PING, id: string }} PingFrame
 * @typedef {JoinFrame | SignalFrame | StateFrame | LeaveFrame | ChatMessageFrame | LowerHandFrame | PingFrame | HostRequestFrame | LobbyRequestFrame | BreakoutRequestFrame} ClientFrame
 */

/**
 * @param {string} room
 * @param {string} name  a label, shown only where the server knows no identity
 * @param {PeerState} state
 * @param {string | null} resume  the token of the peer we were, to keep its id
 * @param {{ widget?: string, color?: string | null }} [about]  the widget model we view,
 *   and our colour in a shared notebook (each sent only when the server would take it)
 * @returns {JoinFrame}
 */
export function joinMessage(room, name, state, resume, about = {}) {
  /** @type {JoinFrame} */
  const msg = { type: CLIENT.JOIN, room, name: name.slice(0, MAX_NAME_CHARS), state };
  if (resume) msg.resume = resume;
  if (about.widget && WIDGET_TAG_PATTERN.test(about.widget)) msg.widget = about.widget;
  if (about.color && COLOR_PATTERN.test(about.color)) msg.color = about.color;
  return msg;
}

/** @param {string} to @param {SignalData} data @returns {SignalFrame} */
export function signalMessage(to, data) {
  return { type: CLIENT.SIGNAL, to, data };
}

/** @param {PeerState} state @returns {StateFrame} */
export function stateMessage(state) {
  return { type: CLIENT.STATE, state };
}

/** @returns {LeaveFrame} */
export function leaveMessage() {
  return { type: CLIENT.LEAVE };
}

/** @param {string} id  PING_ID_PATTERN: the pong names it @returns {PingFrame} */
export function pingMessage(id) {
  return { type: CLIENT.PING, id };
}
