// @ts-check
// A host's powers for one Conference, and what the server says of them: who the room's
// hosts are, the requests a host sends (mute, remove, end the call, make a host, lock,
// admit, deny, breakout, visit; the server refuses them to anyone else, with not-host),
// and the notices that come back (muted, moved, the lobby, the breakouts). The server
// decides who hosts (docs/protocol.md "Hosts"). The Conference keeps the call; this keeps
// the hosting, and reaches the call only through the hooks it is given.
import { BreakoutWatch } from "./breakout.js";
import { LobbyWatch } from "./lobby.js";
import {
  SERVER,
  admitMessage,
  breakoutMessage,
  denyMessage,
  endBreakoutMessage,
  endCallMessage,
  lockMessage,
  makeHostMessage,
  muteMessage,
  removeMessage,
  unlockMessage,
  visitMessage,
} from "./protocol.js";

/**
 * @typedef {"camera" | "microphone"} Device
 *
 * @typedef {object} HostingHooks  what the hosting needs of the call
 * @property {(frame: { type: string }) => void} send  onto the signaling socket, if any
 * @property {() => string} selfId  our peer id, "" until welcome
 * @property {import("./consent.js").DeviceConsent} consent
 * @property {import("./local-media.js").LocalMedia} media
 * @property {(problem: string) => void} afterLocalChange  our tracks changed: onto every
 *   link, tell the room, show `problem` if any
 * @property {(room: string) => void} moved  the server moved us to `room` (a breakout
 *   group, or back): a reconnect rejoins it, and our raised hand stays behind
 * @property {() => void} changed
 *
 * @typedef {import("./signaling.js").RoomFrame} RoomFrame
 */

export class Hosting {
  /** @type {HostingHooks} */ #call;
  /** @type {Set<string>} the ids of the room's hosts, ours too when we are one */
  #hosts = new Set();
  /** who muted each of our devices (a host's name), "" while it is not a host's mute */
  #mutedBy = { microphone: "", camera: "" };
  /** the lobby of a locked room, as the server shows it to a page that may run it */
  #lobby;
  /** a breakout of our room: our group and the countdown (breakout.js) */
  #breakout;

  /** @param {HostingHooks} hooks */
  constructor(hooks) {
    this.#call = hooks;
    this.#lobby = new LobbyWatch(() => hooks.changed());
    this.#breakout = new BreakoutWatch(() => hooks.changed());
  }

  // -- reading ------------------------------------------------------------------------

  /** @param {string} peerId */
  isHost(peerId) {
    return peerId !== "" && this.#hosts.has(peerId);
  }

  /** Our part of the snapshot: the host's mute, the lobby and the breakout. */
  snapshot() {
    return {
      hostMute: hostMuteText(this.#mutedBy),
      lobby: this.#lobby.snapshot(this.isHost(this.#call.selfId())),
      breakout: this.#breakout.snapshot(),
    };
  }

  // -- a host's requests --------------------------------------------------------------

  /**
   * Turn a participant's microphone and/or camera off; only they can turn them back on.
   * @param {string} peerId @param {{ microphone?: boolean, camera?: boolean }} [devices]
   */
  mute(peerId, devices = { microphone: true }) {
    this.#call.send(muteMessage(peerId, devices));
  }

  /**
   * Remove a participant: their page stops for good, and their identity may not rejoin
   * for `banMinutes`.
   * @param {string} peerId @param {number} [banMinutes]
   */
  remove(peerId, banMinutes) {
    this.#call.send(removeMessage(peerId, banMinutes));
  }

  /** End the call for everyone in the room (ourselves too). */
  endCall() {
    this.#call.send(endCallMessage());
  }

  /** Make a participant a host too. @param {string} peerId */
  makeHost(peerId) {
    this.#call.send(makeHostMessage(peerId));
  }

  /** Lock the room (newcomers wait in the lobby), or unlock it. @param {boolean} locked */
  setLocked(locked) {
    this.#call.send(locked ? lockMessage() : unlockMessage());
  }

  /** Let someone waiting in the lobby in. @param {string} peerId */
  admit(peerId) {
    this.#call.send(admitMessage(peerId));
  }

  /** Do not let someone waiting in the lobby in. @param {string} peerId */
  deny(peerId) {
    this.#call.send(denyMessage(peerId));
  }

  /**
   * Split the room into breakout groups for `minutes`: named groups of peer ids, or
   * `n_groups` the server deals.
   * @param {{ groups?: Record<string, string[]>, n_groups?: number }} split
   * @param {number} [minutes]
   */
  breakout(split, minutes) {
    this.#call.send(breakoutMessage(split, minutes));
  }

  /** Bring everyone back from the breakout groups now. */
  endBreakout() {
    this.#call.send(endBreakoutMessage());
  }

  /** Visit a breakout group (a host), or go back to the main room (""). @param {string} group */
  visit(group) {
    this.#call.send(visitMessage(group));
  }

  // -- what the server says -----------------------------------------------------------

  /**
   * A welcome: the room's hosts as it lists them.
   * @param {import("./protocol.js").WelcomeFrame} welcome
   */
  welcomed(welcome) {
    this.#hosts = new Set(welcome.peers.filter((peer) => peer.host).map((peer) => peer.id));
    if (welcome.peer?.host) this.#hosts.add(welcome.id);
  }

  /** Someone joined (a host, perhaps). @param {import("./protocol.js").PeerInfo} peer */
  joined(peer) {
    if (peer.host) this.#hosts.add(peer.id);
  }

  /** Someone left. @param {string} peerId */
  left(peerId) {
    this.#hosts.delete(peerId);
  }

  /**
   * A frame of the room: true when it was ours (hosts, lobby, moved, breakouts, muted).
   * @param {RoomFrame} frame
   */
  heard(frame) {
    switch (frame.type) {
      case SERVER.HOSTS:
        this.#hosts = new Set(frame.hosts);
        this.#call.changed();
        return true;
      case SERVER.LOBBY:
        this.#lobby.heard(frame);
        return true;
      case SERVER.MOVED:
        this.#onMoved(frame);
        return true;
      case SERVER.BREAKOUTS:
        this.#breakout.heard(frame);
        return true;
      case SERVER.MUTED:
        this.#onMuted(frame);
        return true;
      default:
        return false;
    }
  }

  /** The person turned a device on: a host's mute of it holds no more. @param {Device} device */
  unmuted(device) {
    this.#mutedBy[device] = "";
  }

  /** Hung up: nothing of the room's hosting is ours any more. */
  clear() {
    this.#hosts = new Set();
    this.#lobby.clear();
    this.#breakout.clear();
    this.#mutedBy = { microphone: "", camera: "" };
  }

  /**
   * The server moves us to a breakout group, or back: our welcome to that room follows
   * on this socket (planes start over with its members; devices stay), and a reconnect
   * rejoins that room.
   * @param {import("./protocol.js").MovedFrame} frame
   */
  #onMoved(frame) {
    this.#call.moved(frame.room);
    this.#lobby.clear();
    this.#breakout.moved(frame);
  }

  /**
   * A host muted someone: us (turn the devices off and say who did; only we may turn
   * them on again), or another, whose voice the peer-state that came with it silences.
   * @param {import("./protocol.js").MutedFrame} frame
   */
  #onMuted(frame) {
    if (frame.id !== this.#call.selfId()) return;
    const { consent, media } = this.#call;
    const by = frame.name || "a host";
    if (frame.microphone) {
      consent.byPerson("microphone");
      this.#mutedBy.microphone = by;
      media.releaseMicrophone();
    }
    if (frame.camera) {
      consent.byPerson("camera");
      this.#mutedBy.camera = by;
    }
    void (frame.camera ? media.setCamera(false) : Promise.resolve("")).then((problem) =>
      this.#call.afterLocalChange(problem),
    );
  }
}

/**
 * What our page says while a host's mute holds ("" when none does).
 * @param {{ microphone: string, camera: string }} mutedBy  who muted each device
 */
export function hostMuteText(mutedBy) {
  const { microphone, camera } = mutedBy;
  if (microphone && camera && microphone === camera) {
    return `Muted by ${microphone}: your microphone and camera are off. Only you can turn them back on.`;
  }
  const said = [];
  if (microphone) said.push(`Muted by ${microphone}: your microphone is off.`);
  if (camera) said.push(`${camera} turned your camera off.`);
  return said.length ? `${said.join(" ")} Only you can turn ${said.length > 1 ? "them" : "it"} back on.` : "";
}
