// @ts-check
// Signaling protocol v1: the shared contract, mirrored from src/nbconference/protocol.py.
// Every frame type, error code, close code, reconnect delay and the endpoint path is
// written here and nowhere else in js/; client frames are built only by the builders.

export const PROTOCOL_VERSION = 1;

/** The signaling endpoint, under the Jupyter server's base URL (or `nbconference serve`). */
export const SIGNAL_PATH = "nbconference/signal";

export const ROOM_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const MAX_NAME_CHARS = 64;

/**
 * The presence flags a `state` carries, in this order. "hand": we send true or false; the
 * server sends the time (ms) the hand went up, or false.
 */
export const STATE_KEYS = Object.freeze(
  /** @type {const} */ (["camera", "microphone", "screen", "hand"]),
);

// -- kinds of participant (recording, issue 13; docs/protocol.md "Recorders") --------
/** A person: what a join without `kind` is, and a record without `kind` says. */
export const PARTICIPANT_KIND = "participant";
/** A recorder: no media of its own, writes the call to disk; every page shows a banner. */
export const RECORDER_KIND = "recorder";
export const PEER_KINDS = Object.freeze(/** @type {const} */ ([PARTICIPANT_KIND, RECORDER_KIND]));

/** Client → server frame types. */
export const CLIENT = Object.freeze({
  JOIN: "join",
  SIGNAL: "signal",
  STATE: "state",
  LEAVE: "leave",
  CHAT: "chat",
  LOWER_HAND: "lower-hand",
});

/** Server → client frame types. */
export const SERVER = Object.freeze({
  WELCOME: "welcome",
  PEER_JOINED: "peer-joined",
  PEER_LEFT: "peer-left",
  PEER_STATE: "peer-state",
  SIGNAL: "signal",
  CHAT: "chat",
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
  "chat-invalid": "a chat message was empty or not valid text",
  "chat-too-long": "a chat message was too long",
  "chat-rate-limited": "too many chat messages; wait a moment before sending more",
});

/** @typedef {keyof typeof ERROR_EXPLANATIONS} ErrorCode */

/** Every error code the server may send. */
export const ERROR_CODES = Object.freeze(
  /** @type {ErrorCode[]} */ (Object.keys(ERROR_EXPLANATIONS)),
);

/**
 * A join refused with one of these cannot succeed by trying again: the client stops.
 * @type {ReadonlySet<string>}
 */
export const FATAL_JOIN_ERRORS = new Set(["room-full", "bad-message", "too-large"]);

/**
 * Close codes. 1000 and 1001 say "left on purpose"; any other keeps our place for the
 * server's grace window.
 */
export const CLOSE_LEFT = 1000;
/** A closed tab or a server shutting down. */
export const CLOSE_GOING_AWAY = 1001;
/** Sent by the server to a client that kept sending bad frames or stopped reading. */
export const CLOSE_POLICY = 1008;
/** Sent by the server to a socket whose peer resumed on another socket. */
export const CLOSE_REPLACED = 4000;
/** A drop that is not a goodbye (the server keeps our place, we resume). */
export const CLOSE_DROPPED = 4001;
/**
 * After these closes the client does not reconnect by itself.
 * @type {ReadonlySet<number>}
 */
export const FINAL_CLOSE_CODES = new Set([CLOSE_POLICY, CLOSE_REPLACED]);

/** Reconnect backoff: the first retry after this long, doubling up to the maximum. */
export const RECONNECT_FIRST_DELAY_MS = 500;
export const RECONNECT_MAX_DELAY_MS = 8000;

/**
 * @typedef {{ camera: boolean, microphone: boolean, screen: boolean, hand?: boolean | number }} PeerState
 *   `hand` as we send it: true (up) or false; as the server sends it: the time it went
 *   up (ms, which orders the queue) or false
 * @typedef {object} UserStamp  who the server authenticated a peer as (Jupyter's identity)
 * @property {string} username
 * @property {string} display_name
 * @property {string | null} initials
 * @property {string | null} avatar_url
 * @property {string | null} color
 *
 * @typedef {object} PeerInfo  a peer's public record, as the server made it
 * @property {string} id
 * @property {string} name  the display name, or the client's own label where `user` is null
 * @property {Partial<PeerState>} state
 * @property {UserStamp | null} user  null where the server knows no identity (unverified)
 * @property {string | null} color  the person's colour in a shared notebook, if known
 * @property {string | null} widget  the widget model the peer is a view of, if it said
 * @property {"participant" | "recorder"} kind  a person, or a recorder (set by its join,
 *   carried by the server, never changed)
 * @typedef {{ description?: RTCSessionDescriptionInit, candidate?: RTCIceCandidateInit }} SignalData
 *
 * Client → server frames, made only by the builders below.
 * @typedef {{ type: typeof CLIENT.JOIN, room: string, name: string, state: PeerState, resume?: string, widget?: string, color?: string }} JoinFrame
 * @typedef {{ type: typeof CLIENT.SIGNAL, to: string, data: SignalData }} SignalFrame
 * @typedef {{ type: typeof CLIENT.STATE, state: PeerState }} StateFrame
 * @typedef {{ type: typeof CLIENT.LEAVE }} LeaveFrame
 * @typedef {{ type: typeof CLIENT.CHAT, text: string, from_code?: true }} ChatMessageFrame
 * @typedef {{ type: typeof CLIENT.LOWER_HAND, peer: string }} LowerHandFrame
 * @typedef {JoinFrame | SignalFrame | StateFrame | LeaveFrame | ChatMessageFrame | LowerHandFrame} ClientFrame
 *
 * Server → client frames, as readServerFrame() hands them over.
 * @typedef {object} WelcomeFrame
 * @property {typeof SERVER.WELCOME} type
 * @property {string} id  our peer id
 * @property {PeerInfo | null} peer  our own record, as the others see it
 * @property {string | null} resume  the token that resumes this peer after a drop
 * @property {boolean} resumed  true: the same peer as before the drop; false: a new one
 * @property {PeerInfo[]} peers  the others in the room
 * @property {RTCIceServer[]} ice_servers
 * @property {{ max_chat_bytes: number }} limits  what the page keeps to (docs/protocol.md)
 *
 * @typedef {{ type: typeof SERVER.PEER_JOINED, peer: PeerInfo }} PeerJoinedFrame
 * @typedef {{ type: typeof SERVER.PEER_LEFT, id: string }} PeerLeftFrame
 * @typedef {{ type: typeof SERVER.PEER_STATE, id: string, state: Partial<PeerState>, by?: string }} PeerStateFrame
 *   `by`: who lowered the peer's hand (the peer itself, or another)
 * @typedef {object} ChatFrame  a chat message, as the server stamped it
 * @property {typeof SERVER.CHAT} type
 * @property {string} id  the server's id for it: the same in every copy
 * @property {number} time  when the server took it (ms since 1970)
 * @property {string} from  the sender's peer id
 * @property {string} name  the sender's name (its identity's, where the server knows one)
 * @property {UserStamp | null} user
 * @property {string | null} color
 * @property {string} text  plain text: shown as text, never as HTML
 * @property {boolean} from_code  posted by a notebook's code
 * @typedef {{ type: typeof SERVER.SIGNAL, from: string, data: SignalData }} RelayedSignalFrame
 * @typedef {object} ErrorFrame
 * @property {typeof SERVER.ERROR} type
 * @property {string} code  one of ERROR_CODES (a newer server may send others)
 * @property {string} message  for people, not for parsing
 * @property {string} [peer]  the peer concerned (unknown-peer, peer-unavailable, ...)
 *
 * @typedef {WelcomeFrame | PeerJoinedFrame | PeerLeftFrame | PeerStateFrame | RelayedSignalFrame | ChatFrame | ErrorFrame} ServerFrame
 */

/** The chat limit (UTF-8 bytes) of a server whose welcome does not say its own. */
export const MAX_CHAT_BYTES = 4096;

/** Tags and colours a join may carry (the server refuses others). */
export const WIDGET_TAG_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const COLOR_PATTERN = /^(#[0-9A-Fa-f]{3,8}|var\(--jp-collaborator-color[1-9]\))$/;

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

// -- reading what the server sends -----------------------------------------------------

/** @param {unknown} value @returns {value is Record<string, unknown>} */
function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** @param {unknown} value @returns {Partial<PeerState>} only the known flags that are booleans */
function readState(value) {
  /** @type {Partial<PeerState>} */
  const state = {};
  if (!isObject(value)) return state;
  for (const key of STATE_KEYS) {
    const flag = value[key];
    if (typeof flag === "boolean") state[key] = flag;
    else if (key === "hand" && typeof flag === "number" && flag > 0) state.hand = flag;
  }
  return state;
}

/** @param {unknown} value @returns {string | null} */
function optionalString(value) {
  return typeof value === "string" && value ? value : null;
}

/** @param {unknown} value @returns {UserStamp | null} */
function readUser(value) {
  if (!isObject(value) || typeof value.username !== "string") return null;
  return {
    username: value.username,
    display_name: optionalString(value.display_name) ?? value.username,
    initials: optionalString(value.initials),
    avatar_url: optionalString(value.avatar_url),
    color: optionalString(value.color),
  };
}

/** @param {unknown} value @returns {PeerInfo | null} */
function readPeer(value) {
  if (!isObject(value) || typeof value.id !== "string") return null;
  return {
    id: value.id,
    name: typeof value.name === "string" ? value.name : "",
    state: readState(value.state),
    user: readUser(value.user),
    color: optionalString(value.color),
    widget: optionalString(value.widget),
    kind: value.kind === RECORDER_KIND ? RECORDER_KIND : PARTICIPANT_KIND,
  };
}

/** @type {ReadonlySet<unknown>} */
const SDP_TYPES = new Set(["offer", "answer", "pranswer", "rollback"]);

/** @param {unknown} value @returns {value is RTCSdpType} */
function isSdpType(value) {
  return SDP_TYPES.has(value);
}

/** @param {unknown} value @returns {value is string | null} */
function isOptionalString(value) {
  return typeof value === "string" || value === null;
}

/**
 * The relayed payload: a session description or an ICE candidate, with the fields of
 * the right types only (the browser's WebRTC API judges the values).
 * @param {unknown} value
 * @returns {SignalData | null}
 */
function readSignalData(value) {
  if (!isObject(value)) return null;
  const { description, candidate } = value;
  if (isObject(description) && isSdpType(description.type)) {
    /** @type {RTCSessionDescriptionInit} */
    const init = { type: description.type };
    if (typeof description.sdp === "string") init.sdp = description.sdp;
    return { description: init };
  }
  if (isObject(candidate)) {
    /** @type {RTCIceCandidateInit} */
    const init = {};
    if (typeof candidate.candidate === "string") init.candidate = candidate.candidate;
    if (isOptionalString(candidate.sdpMid)) init.sdpMid = candidate.sdpMid;
    const index = candidate.sdpMLineIndex;
    if (typeof index === "number" || index === null) init.sdpMLineIndex = index;
    const fragment = candidate.usernameFragment;
    if (isOptionalString(fragment)) init.usernameFragment = fragment;
    return { candidate: init };
  }
  return null;
}

/** @param {unknown} value @returns {value is RTCIceServer} */
function isIceServer(value) {
  if (!isObject(value)) return false;
  const { urls } = value;
  if (typeof urls === "string") return true;
  return Array.isArray(urls) && urls.every((url) => typeof url === "string");
}

/**
 * A frame from the server, checked and typed; null when it is not one we can use.
 * @param {unknown} value  the parsed JSON of one text frame
 * @returns {ServerFrame | null}
 */
export function readServerFrame(value) {
  if (!isObject(value)) return null;
  switch (value.type) {
    case SERVER.WELCOME: {
      if (typeof value.id !== "string") return null;
      const peers = Array.isArray(value.peers) ? value.peers.map(readPeer) : [];
      const servers = Array.isArray(value.ice_servers) ? value.ice_servers : [];
      const chatBytes = isObject(value.limits) ? value.limits.max_chat_bytes : null;
      return {
        type: SERVER.WELCOME,
        id: value.id,
        peer: readPeer(value.peer),
        resume: typeof value.resume === "string" ? value.resume : null,
        resumed: value.resumed === true,
        peers: peers.filter((peer) => peer !== null),
        ice_servers: servers.filter(isIceServer),
        limits: {
          max_chat_bytes:
            Number.isSafeInteger(chatBytes) && Number(chatBytes) > 0 ? Number(chatBytes) : MAX_CHAT_BYTES,
        },
      };
    }
    case SERVER.PEER_JOINED: {
      const peer = readPeer(value.peer);
      return peer && { type: SERVER.PEER_JOINED, peer };
    }
    case SERVER.PEER_LEFT:
      return typeof value.id === "string" ? { type: SERVER.PEER_LEFT, id: value.id } : null;
    case SERVER.PEER_STATE:
      if (typeof value.id !== "string") return null;
      /** @type {PeerStateFrame} */
      const frame = { type: SERVER.PEER_STATE, id: value.id, state: readState(value.state) };
      if (typeof value.by === "string") frame.by = value.by;
      return frame;
    case SERVER.SIGNAL: {
      const data = readSignalData(value.data);
      if (typeof value.from !== "string" || !data) return null;
      return { type: SERVER.SIGNAL, from: value.from, data };
    }
    case SERVER.CHAT: {
      const { id, time, from, text } = value;
      if (typeof id !== "string" || typeof from !== "string" || typeof text !== "string") {
        return null;
      }
      return {
        type: SERVER.CHAT,
        id,
        time: typeof time === "number" && Number.isFinite(time) ? time : Date.now(),
        from,
        name: typeof value.name === "string" ? value.name : "",
        user: readUser(value.user),
        color: optionalString(value.color),
        text,
        from_code: value.from_code === true,
      };
    }
    case SERVER.ERROR: {
      /** @type {ErrorFrame} */
      const frame = {
        type: SERVER.ERROR,
        code: typeof value.code === "string" ? value.code : "",
        message: typeof value.message === "string" ? value.message : "",
      };
      if (typeof value.peer === "string") frame.peer = value.peer;
      return frame;
    }
    default:
      return null;
  }
}

// -- between peers, not through the server ------------------------------------------
// Each receiver tells each sender how large it shows the sender's camera and screen, on
// an RTCDataChannel of their peer connection (docs/protocol.md, "What a receiver shows").

/** The label of that channel; the side that makes the first offer opens it. */
export const VIEW_CHANNEL = "nbc-view";
/** The `type` of its one message. */
export const VIEW_REQUEST = "view";
/** Heights are read up to this; a receiver that wants the whole picture asks for it. */
export const MAX_VIEW_HEIGHT = 4320;
/** Longer messages are not requests (characters). */
export const MAX_VIEW_MESSAGE = 256;
/**
 * The scaleResolutionDownBy steps a sender picks from: it sends the smallest picture at
 * least as high as the receiver shows, so at most one step above the asked height.
 */
export const SCALE_STEPS = Object.freeze([1, 1.5, 2, 3, 4, 6, 8]);

/**
 * @typedef {{ camera: number, screen: number }} Shown  heights in device pixels at which a
 *   receiver shows a sender's camera and screen share; 0 when it shows none
 */

/** @param {Shown} shown @returns {string} the message, as sent on the channel */
export function viewRequest(shown) {
  /** @param {number} height */
  const clamp = (height) => Math.max(0, Math.min(MAX_VIEW_HEIGHT, Math.round(height) || 0));
  return JSON.stringify({ type: VIEW_REQUEST, camera: clamp(shown.camera), screen: clamp(shown.screen) });
}

/**
 * A message from the channel; null when it is not a request we can read.
 * @param {unknown} data
 * @returns {Shown | null}
 */
export function readViewRequest(data) {
  if (typeof data !== "string" || data.length > MAX_VIEW_MESSAGE) return null;
  /** @type {unknown} */
  let value;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObject(value) || value.type !== VIEW_REQUEST) return null;
  /** @param {unknown} height */
  const read = (height) =>
    typeof height === "number" && Number.isFinite(height)
      ? Math.max(0, Math.min(MAX_VIEW_HEIGHT, Math.round(height)))
      : null;
  const camera = read(value.camera);
  const screen = read(value.screen);
  return camera === null || screen === null ? null : { camera, screen };
}

/**
 * The step to scale a picture `sourceHeight` high by, for a receiver showing it `shown`
 * high (shown > 0): the largest of SCALE_STEPS that keeps it at least that high.
 * @param {number} sourceHeight @param {number} shown
 */
export function scaleFor(sourceHeight, shown) {
  let chosen = 1;
  for (const step of SCALE_STEPS) if (sourceHeight / step >= shown) chosen = step;
  return chosen;
}
