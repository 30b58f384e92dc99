// @ts-check
// Signaling protocol v1, mirrored from src/nbconference/protocol.py (the shared contract).

export const PROTOCOL_VERSION = 1;

export const ROOM_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const MAX_NAME_CHARS = 64;

/** Server → client frame types. */
export const SERVER = Object.freeze({
  WELCOME: "welcome",
  PEER_JOINED: "peer-joined",
  PEER_LEFT: "peer-left",
  PEER_STATE: "peer-state",
  SIGNAL: "signal",
  ERROR: "error",
});

/** Error codes the server may send, with what they mean to the person in the call. */
export const ERROR_EXPLANATIONS = Object.freeze({
  "bad-message": "the server refused a message",
  "too-large": "a message was too large for the server",
  "room-full": "the room is full",
  "unknown-peer": "a message went to someone who is no longer in the room",
  "peer-unavailable": "someone is reconnecting and could not take a message",
  "not-joined": "the server says we have not joined yet",
  "already-joined": "the server says we have joined already",
  "rate-limited": "too many messages; the server asked us to slow down",
  "backend-unavailable": "the server's room store is unavailable",
});

/** Errors after which joining again as is cannot succeed. */
export const FATAL_JOIN_ERRORS = new Set(["room-full", "bad-message", "too-large"]);

/** Close codes: 1000 says "left on purpose"; anything else keeps our place for the grace window. */
export const CLOSE_LEFT = 1000;
export const CLOSE_DROPPED = 4001;
/** Sent by the server to a socket whose peer resumed on another socket. */
export const CLOSE_REPLACED = 4000;
export const CLOSE_POLICY = 1008;

/**
 * @typedef {{ camera: boolean, microphone: boolean, screen: boolean }} PeerState
 * @typedef {{ id: string, name: string, state: Partial<PeerState> }} PeerInfo
 * @typedef {{ description?: RTCSessionDescriptionInit, candidate?: RTCIceCandidateInit }} SignalData
 */

/**
 * @param {string} room
 * @param {string} name
 * @param {PeerState} state
 * @param {string | null} resume
 */
export function joinMessage(room, name, state, resume) {
  /** @type {Record<string, unknown>} */
  const msg = { type: "join", room, name: name.slice(0, MAX_NAME_CHARS), state };
  if (resume) msg.resume = resume;
  return msg;
}

/** @param {string} to @param {SignalData} data */
export function signalMessage(to, data) {
  return { type: "signal", to, data };
}

/** @param {PeerState} state */
export function stateMessage(state) {
  return { type: "state", state };
}

export function leaveMessage() {
  return { type: "leave" };
}

/**
 * A readable sentence for an `error` frame.
 * @param {{ code?: string, message?: string }} frame
 */
export function describeError(frame) {
  const code = frame.code ?? "";
  const meaning = /** @type {Record<string, string>} */ (ERROR_EXPLANATIONS)[code];
  const detail = frame.message ? `: ${frame.message}` : "";
  return meaning ? `Server: ${meaning}${detail}` : `Server error ${code}${detail}`;
}
