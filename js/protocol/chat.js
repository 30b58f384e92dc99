// @ts-check
// Chat and raised hands (src/nbconference/protocol/chat.py): the frames a client sends,
// and the chat message as the server stamps it (read with the others, server-frames.js).

import { CLIENT, SERVER } from "./names.js";

/** The chat limit (UTF-8 bytes) of a server whose welcome does not say its own. */
export const MAX_CHAT_BYTES = 4096;

/**
 * @typedef {{ type: typeof CLIENT.CHAT, text: string, from_code?: true }} ChatMessageFrame
 * @typedef {{ type: typeof CLIENT.LOWER_HAND, peer: string }} LowerHandFrame
 *
 * @typedef {object} ChatFrame  a chat message, as the server stamped it
 * @property {typeof SERVER.CHAT} type
 * @property {string} id  the server's id for it: the same in every copy
 * @property {number} time  when the server took it (ms since 1970)
 * @property {string} from  the sender's peer id
 * @property {string} name  the sender's name (its identity's, where the server knows one)
 * @property {import("./names.js").UserStamp | null} user
 * @property {string | null} color
 * @property {string} text  plain text: shown as text, never as HTML
 * @property {boolean} from_code  posted by a notebook's code
 */

/**
 * A chat message for the whole room.
 * @param {string} text @param {boolean} [fromCode]  posted by the notebook's code
 * @returns {ChatMessageFrame}
 */
export function chatMessage(text, fromCode = false) {
  /** @type {ChatMessageFrame} */
  const msg = { type: CLIENT.CHAT, text };
  if (fromCode) msg.from_code = true;
  return msg;
}

/** Lower the raised hand of `peer` (our own id: ours). @param {string} peer @returns {LowerHandFrame} */
export function lowerHandMessage(peer) {
  return { type: CLIENT.LOWER_HAND, peer };
}
