// @ts-check
// Frames the server sends (src/nbconference/protocol/server_frames.py), read and checked:
// readServerFrame() hands over only frames of the shapes below.

import { MAX_CHAT_BYTES } from "./chat.js";
import { isErrorCode } from "./errors.js";
import { readLobbyFrame } from "./lobby.js";
import { readBreakoutFrame } from "./breakout.js";
import {
  ICE_TRANSPORT_ALL,
  ICE_TRANSPORT_RELAY,
  MEDIA_MESH,
  MEDIA_PLANES,
  PARTICIPANT_KIND,
  RECORDER_KIND,
  SERVER,
  STATE_KEYS,
} from "./names.js";
import { isObject } from "./read.js";

/**
 * @import { MediaPlane, PeerInfo, PeerState, SignalData, UserStamp } from "./names.js"
 * @import { ErrorCode } from "./errors.js"
 * @import { ChatFrame } from "./chat.js"
 * @import { DoneFrame, HostsFrame, MutedFrame } from "./hosts.js"
 * @import { LobbyFrame, WaitingFrame } from "./lobby.js"
 * @import { BreakoutsFrame, MovedFrame } from "./breakout.js"
 */

/**
 * @typedef {object} WelcomeFrame
 * @property {typeof SERVER.WELCOME} type
 * @property {string} id  our peer id
 * @property {PeerInfo | null} peer  our own record, as the others see it
 * @property {string | null} resume  the token that resumes this peer after a drop
 * @property {boolean} resumed  true: the same peer as before the drop; false: a new one
 * @property {PeerInfo[]} peers  the others in the room
 * @property {RTCIceServer[]} ice_servers
 * @property {RTCIceTransportPolicy} ice_transport_policy  "relay": the TURN server only
 * @property {{ max_chat_bytes: number }} limits  what the page keeps to (docs/protocol.md)
 * @property {MediaPlane} media  the plane that carries the room's media now ("mesh" when
 *   a server older than the SFU move leaves it out)
 *
 * @typedef {{ type: typeof SERVER.ICE_SERVERS, ice_servers: RTCIceServer[] }} IceServersFrame
 *   fresh TURN credentials, before the last ones expire
 *
 * @typedef {{ type: typeof SERVER.MEDIA, media: MediaPlane }} MediaFrame
 *   the room moved to `media`; sent to those already in it
 * @typedef {{ type: typeof SERVER.PEER_JOINED, peer: PeerInfo }} PeerJoinedFrame
 * @typedef {{ type: typeof SERVER.PEER_LEFT, id: string }} PeerLeftFrame
 * @typedef {{ type: typeof SERVER.PEER_STATE, id: string, state: Partial<PeerState>, by?: string }} PeerStateFrame
 *   `by`: who lowered the peer's hand (the peer itself, or another)
 * @typedef {{ type: typeof SERVER.SIGNAL, from: string, data: SignalData }} RelayedSignalFrame
 * @typedef {object} ErrorFrame
 * @property {typeof SERVER.ERROR} type
 * @property {ErrorCode | ""} code  one of ERROR_CODES; "" when the server sent none, or
 *   one this client does not know (a newer server's), which is then in `other`
 * @property {string} [other]  a code this client does not know, as the server sent it
 * @property {string} message  for people, not for parsing
 * @property {string} [peer]  the peer concerned (unknown-peer, peer-unavailable, ...)
 * @property {string} [request]  the id of the host request it refuses, if it had one
 *
 * @typedef {{ type: typeof SERVER.PONG, id: string }} PongFrame  the answer to our `ping`
 *
 * @typedef {WelcomeFrame | PeerJoinedFrame | PeerLeftFrame | PeerStateFrame | RelayedSignalFrame | ChatFrame | IceServersFrame | PongFrame | ErrorFrame | MediaFrame | HostsFrame | MutedFrame | DoneFrame | WaitingFrame | LobbyFrame | MovedFrame | BreakoutsFrame} ServerFrame
 */

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
    groups: Array.isArray(value.groups)
      ? value.groups.filter((group) => typeof group === "string")
      : [],
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
    host: value.host === true,
  };
}

/** @type {ReadonlySet<unknown>} */
const PLANES = new Set(MEDIA_PLANES);

/** @param {unknown} value @returns {value is MediaPlane} */
function isMediaPlane(value) {
  return PLANES.has(value);
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

/** @param {unknown} value @returns {RTCIceServer[]} */
function readIceServers(value) {
  return Array.isArray(value) ? value.filter(isIceServer) : [];
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
      const chatBytes = isObject(value.limits) ? value.limits.max_chat_bytes : null;
      return {
        type: SERVER.WELCOME,
        id: value.id,
        peer: readPeer(value.peer),
        resume: typeof value.resume === "string" ? value.resume : null,
        resumed: value.resumed === true,
        peers: peers.filter((peer) => peer !== null),
        ice_servers: readIceServers(value.ice_servers),
        // A server older than the setting says nothing: every candidate.
        ice_transport_policy:
          value.ice_transport_policy === ICE_TRANSPORT_RELAY ? ICE_TRANSPORT_RELAY : ICE_TRANSPORT_ALL,
        limits: {
          max_chat_bytes:
            Number.isSafeInteger(chatBytes) && Number(chatBytes) > 0 ? Number(chatBytes) : MAX_CHAT_BYTES,
        },
        media: isMediaPlane(value.media) ? value.media : MEDIA_MESH,
      };
    }
    case SERVER.ICE_SERVERS:
      return { type: SERVER.ICE_SERVERS, ice_servers: readIceServers(value.ice_servers) };
    case SERVER.MEDIA:
      return isMediaPlane(value.media) ? { type: SERVER.MEDIA, media: value.media } : null;
    case SERVER.PONG:
      return typeof value.id === "string" ? { type: SERVER.PONG, id: value.id } : null;
    case SERVER.HOSTS:
      if (!Array.isArray(value.hosts)) return null;
      return { type: SERVER.HOSTS, hosts: value.hosts.filter((id) => typeof id === "string") };
    case SERVER.MUTED:
      if (typeof value.id !== "string") return null;
      return {
        type: SERVER.MUTED,
        id: value.id,
        by: typeof value.by === "string" ? value.by : "",
        name: typeof value.name === "string" ? value.name : "",
        microphone: value.microphone === true,
        camera: value.camera === true,
      };
    case SERVER.DONE:
      return typeof value.request === "string" ? { type: SERVER.DONE, request: value.request } : null;
    case SERVER.WAITING:
    case SERVER.LOBBY:
      return readLobbyFrame(value);
    case SERVER.MOVED:
    case SERVER.BREAKOUTS:
      return readBreakoutFrame(value);
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
        code: isErrorCode(value.code) ? value.code : "",
        message: typeof value.message === "string" ? value.message : "",
      };
      if (typeof value.code === "string" && !isErrorCode(value.code)) frame.other = value.code;
      if (typeof value.peer === "string") frame.peer = value.peer;
      if (typeof value.request === "string") frame.request = value.request;
      return frame;
    }
    default:
      return null;
  }
}
