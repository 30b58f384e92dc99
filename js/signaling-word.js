// @ts-check
// Where this widget joins: the widget's `signaling_url` and the kernel's word about it
// (its own plan, a local stand-in, or the token for signaling_url), and the target the
// call uses now. The word may come late (a kernel busy running a cell): a join waits.
import { DECIDED_SIGNALING_MODES } from "./protocol.js";
import { signalingTarget } from "./signaling.js";

/**
 * @typedef {import("./signaling.js").SignalingInfo} SignalingInfo
 * @typedef {import("./signaling.js").Target} Target
 */

export class SignalingWord {
  /** @type {() => string} */ #url;
  /** @type {SignalingInfo | null} what the kernel said about where to join */
  #info = null;
  /** @type {(() => void)[]} waiting for the kernel's word */
  #waiters = [];
  /** @type {Target | null} the signaling server we are using (or trying) */
  via = null;

  /** @param {() => string} url  the widget's signaling_url ("" for this page's server) */
  constructor(url) {
    this.#url = url;
  }

  /** Where the signaling server is, from the widget's settings and the kernel's word. */
  target() {
    return signalingTarget(this.#url(), this.#info);
  }

  /**
   * The kernel's word arrived. Returns the target to move to when it differs from the
   * one in use (a url or advice of its own), else null.
   * @param {SignalingInfo} info
   * @returns {Target | null}
   */
  heard(info) {
    this.#info = info;
    for (const resolve of this.#waiters.splice(0)) resolve();
    const next = this.target();
    const moved = "url" in next && (next.url !== this.via?.url || next.advice !== this.via?.advice);
    return moved ? next : null;
  }

  /** Resolves when the kernel's next word comes. */
  wait() {
    return new Promise((resolve) => this.#waiters.push(() => resolve(undefined)));
  }

  /** The kernel has said where to join for good (an unreachable server is then news). */
  get decided() {
    return DECIDED_SIGNALING_MODES.has(this.#info?.mode);
  }

  /** The target in use is this user's local signaling server (a stand-in). */
  get local() {
    return this.via?.local === true;
  }

  /** The target in use is the Hub's nbconference service. */
  get hub() {
    return Boolean(this.via?.login);
  }
}
