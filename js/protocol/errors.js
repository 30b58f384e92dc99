// @ts-check
// The error codes an `error` frame carries (src/nbconference/protocol/errors.py). On the
// wire a code is its bare string; here each has a name, and `ErrorCode` is their union,
// so that a misspelt code is a type error.

/** Every error code the server may send, by name. */
export const ERROR = Object.freeze({
  BAD_MESSAGE: "bad-message",
  TOO_LARGE: "too-large",
  ROOM_FULL: "room-full",
  NOT_ALLOWED: "not-allowed",
  UNKNOWN_PEER: "unknown-peer",
  PEER_UNAVAILABLE: "peer-unavailable",
  NOT_JOINED: "not-joined",
  ALREADY_JOINED: "already-joined",
  RATE_LIMITED: "rate-limited",
  BACKEND_UNAVAILABLE: "backend-unavailable",
  // chat (a message refused; the socket stays open)
  CHAT_INVALID: "chat-invalid",
  CHAT_TOO_LONG: "chat-too-long",
  CHAT_RATE_LIMITED: "chat-rate-limited",
  // the SFU (media through the server's Janus)
  SFU_UNAVAILABLE: "sfu-unavailable",
  SFU_REFUSED: "sfu-refused",
  // hosts (a request only a host may make; a join of an identity a host removed)
  NOT_HOST: "not-host",
  BANNED: "banned",
  // the lobby (a frame only an admitted peer may send, from one still waiting)
  IN_LOBBY: "in-lobby",
});

/** @typedef {typeof ERROR[keyof typeof ERROR]} ErrorCode */

/**
 * What each code means to the person in the call.
 * @type {Readonly<Record<ErrorCode, string>>}
 */
export const ERROR_EXPLANATIONS = Object.freeze({
  [ERROR.BAD_MESSAGE]: "the server refused a message",
  [ERROR.TOO_LARGE]: "a message was too large for the server",
  [ERROR.ROOM_FULL]: "the room is full",
  [ERROR.NOT_ALLOWED]: "this room is open only to the people its server names",
  [ERROR.UNKNOWN_PEER]: "a message went to someone who is no longer in the room",
  [ERROR.PEER_UNAVAILABLE]: "someone is reconnecting and could not take a message",
  [ERROR.NOT_JOINED]: "the server says we have not joined yet",
  [ERROR.ALREADY_JOINED]: "the server says we have joined already",
  [ERROR.RATE_LIMITED]: "too many messages; the server asked us to slow down",
  [ERROR.BACKEND_UNAVAILABLE]: "the server's room store is unavailable",
  [ERROR.CHAT_INVALID]: "a chat message was empty or not valid text",
  [ERROR.CHAT_TOO_LONG]: "a chat message was too long",
  [ERROR.CHAT_RATE_LIMITED]: "too many chat messages; wait a moment before sending more",
  [ERROR.SFU_UNAVAILABLE]: "the media server (SFU) is not available",
  [ERROR.SFU_REFUSED]: "the media server (SFU) refused a request",
  [ERROR.NOT_HOST]: "only a host of the room may do that",
  [ERROR.BANNED]: "a host removed you from this room for a while",
  [ERROR.IN_LOBBY]: "you are waiting for a host to let you in",
});

/** Every error code the server may send. */
export const ERROR_CODES = Object.freeze(/** @type {ErrorCode[]} */ (Object.values(ERROR)));

/** @param {unknown} value @returns {value is ErrorCode} */
export function isErrorCode(value) {
  return /** @type {readonly unknown[]} */ (ERROR_CODES).includes(value);
}

/**
 * A join refused with one of these cannot succeed by trying again: the client stops.
 * @type {ReadonlySet<string>}
 */
export const FATAL_JOIN_ERRORS = new Set([
  ERROR.ROOM_FULL,
  ERROR.NOT_ALLOWED,
  ERROR.BANNED,
  ERROR.BAD_MESSAGE,
  ERROR.TOO_LARGE,
]);

/**
 * A readable sentence for an `error` frame.
 * @param {{ code?: string, other?: string, message?: string }} frame  `other`: a code
 *   this client does not know (see ErrorFrame)
 */
export function describeError(frame) {
  const code = frame.code || frame.other || "";
  const meaning = isErrorCode(code) ? ERROR_EXPLANATIONS[code] : "";
  const detail = frame.message ? `: ${frame.message}` : "";
  return meaning ? `Server: ${meaning}${detail}` : `Server error ${code}${detail}`;
}

/**
 * Why a join was refused, as the status line says it: a full room and a room closed to
 * us are said in the server's own words (they name the room and the reason), any other
 * refusal as describeError says it.
 * @param {{ code?: string, other?: string, message?: string }} frame
 */
export function describeJoinRefusal(frame) {
  const inItsOwnWords = [ERROR.ROOM_FULL, ERROR.NOT_ALLOWED, ERROR.BANNED].some(
    (code) => code === frame.code,
  );
  return inItsOwnWords && frame.message ? `Cannot join: ${frame.message}.` : describeError(frame);
}
