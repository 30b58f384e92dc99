// @ts-check
// The names of the wire (src/nbconference/protocol/names.py): version, endpoint, frame
// types, kinds, state keys, patterns, close codes, the reconnect policy, and the shapes
// the frames share.

export const PROTOCOL_VERSION = 1;

/** The signaling endpoint, under the Jupyter server's base URL (or `nbconference serve`). */
export const SIGNAL_PATH = "nbconference/signal";

/** The Hub service's sign-in page (under its prefix) and the message it posts once done. */
export const HUB_LOGIN_PATH = "login";
export const HUB_LOGIN_MESSAGE = "nbconference-hub-login";

/** "<owner tag>~<name>" is a room of one user's (names.py owner_tag). */
export const ROOM_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;
export const MAX_NAME_CHARS = 64;

/** Tags and colours a join may carry (the server refuses others). */
export const WIDGET_TAG_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const COLOR_PATTERN = /^(#[0-9A-Fa-f]{3,8}|var\(--jp-collaborator-color[1-9]\))$/;

/**
 * The presence flags a `state` carries, in this order. "hand": we send true or false; the
 * server sends the time (ms) the hand went up, or false.
 */
export const STATE_KEYS = Object.freeze(
  /** @type {const} */ (["camera", "microphone", "screen", "hand"]),
);

// -- kinds of participant (recording; docs/protocol.md "Recorders") ------------------
/** A person: what a join without `kind` is, and a record without `kind` says. */
export const PARTICIPANT_KIND = "participant";
/** A recorder: no media of its own, writes the call to disk; every page shows a banner. */
export const RECORDER_KIND = "recorder";
export const PEER_KINDS = Object.freeze(/** @type {const} */ ([PARTICIPANT_KIND, RECORDER_KIND]));

// -- which ICE candidates to use (the server says in `welcome`) -----------------------
/** Every candidate: the browser's own addresses, STUN's and the TURN server's. */
export const ICE_TRANSPORT_ALL = "all";
/** The TURN server's alone: no participant learns another's addresses. */
export const ICE_TRANSPORT_RELAY = "relay";
export const ICE_TRANSPORT_POLICIES = Object.freeze(
  /** @type {const} */ ([ICE_TRANSPORT_ALL, ICE_TRANSPORT_RELAY]),
);
// -- media planes (docs/protocol.md "SFU") -------------------------------------------
/** The room's media go peer to peer. */
export const MEDIA_MESH = "mesh";
/** The room's media go through the server's SFU (sfu-* frames). */
export const MEDIA_SFU = "sfu";
export const MEDIA_PLANES = Object.freeze(/** @type {const} */ ([MEDIA_MESH, MEDIA_SFU]));
/** @typedef {typeof MEDIA_PLANES[number]} MediaPlane */

/** Client → server frame types. */
export const CLIENT = Object.freeze({
  JOIN: "join",
  SIGNAL: "signal",
  STATE: "state",
  LEAVE: "leave",
  CHAT: "chat",
  LOWER_HAND: "lower-hand",
  PING: "ping",
  // A host's requests (hosts.js).
  MUTE: "mute",
  REMOVE: "remove",
  END_CALL: "end-call",
  MAKE_HOST: "make-host",
  // The lobby of a locked room (lobby.js): a host's requests too.
  LOCK: "lock",
  UNLOCK: "unlock",
  ADMIT: "admit",
  DENY: "deny",
  // Breakout rooms (breakout.js): a host's requests too.
  BREAKOUT: "breakout",
  END_BREAKOUT: "end-breakout",
  VISIT: "visit",
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
  ICE_SERVERS: "ice-servers",
  MEDIA: "media",
  PONG: "pong",
  // The room's hosts, a host's mute, and the answer to a host's request (hosts.js).
  HOSTS: "hosts",
  MUTED: "muted",
  DONE: "done",
  // The lobby (lobby.js): to a newcomer of a locked room, and to the room's hosts.
  WAITING: "waiting",
  LOBBY: "lobby",
  // Breakout rooms (breakout.js): to a peer the server moves, and to every room of one.
  MOVED: "moved",
  BREAKOUTS: "breakouts",
});

/**
 * A `ping` measures the signaling round trip: the server answers each at once with a
 * `pong` of the same `id` (this pattern), a few a second at most.
 */
export const PING_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

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
/** Sent by the server to a peer a host removed; the reason says who, and for how long. */
export const CLOSE_REMOVED = 4002;
/** Sent by the server to everyone in a room whose host ended the call. */
export const CLOSE_ENDED = 4003;
/** Sent by the server to a peer waiting in the lobby whom a host did not let in. */
export const CLOSE_DENIED = 4004;
/**
 * After these closes the client does not reconnect by itself.
 * @type {ReadonlySet<number>}
 */
export const FINAL_CLOSE_CODES = new Set([
  CLOSE_POLICY,
  CLOSE_REPLACED,
  CLOSE_REMOVED,
  CLOSE_ENDED,
  CLOSE_DENIED,
]);

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
 * @property {string[]} groups  the user's groups, as a JupyterHub says (none elsewhere)
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
 * @property {boolean} host  a host of the room, as the server made them (hosts.js)
 * @typedef {{ description?: RTCSessionDescriptionInit, candidate?: RTCIceCandidateInit }} SignalData
 */
