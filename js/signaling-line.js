// @ts-check
// The signaling connection of one Conference: where it joins (the widget's signaling_url
// and the kernel's word about it, signaling-word.js), signing in to the Hub's service
// when that is where (hub-login.js), and the session on that target (signaling.js),
// moved when a new word changes the target before the call is up. The Conference keeps
// the call; this keeps the line, and reaches the call only through the hooks it is given.
import { hubLogin } from "./hub-login.js";
import { SignalingSession } from "./signaling.js";
import { SignalingWord } from "./signaling-word.js";

/**
 * @typedef {import("./signaling.js").SignalingInfo} SignalingInfo
 * @typedef {import("./signaling.js").Target} Target
 * @typedef {import("./snapshot.js").Status} Status
 *
 * @typedef {Pick<import("./signaling.js").SignalingHandlers,
 *   "joinMessage" | "onWelcome" | "onWaiting" | "onFrame" | "onIce">} RoomHandlers
 *   what the call does with the room's frames
 *
 * @typedef {object} LineHooks  what the line needs of the call
 * @property {() => string} signalingUrl  the widget's signaling_url ("" for this page's server)
 * @property {() => boolean} connecting  still connecting: not hung up or closed meanwhile
 * @property {(status: Status, detail: string) => void} setStatus
 * @property {(reason: string) => void} setError  the call's error, once its status says so
 * @property {(reason: string) => void} fail  hang up and say why
 * @property {() => RoomHandlers} room  for a session opened now
 */

export class SignalingLine {
  /** @type {LineHooks} */ #call;
  /** @type {SignalingWord} where we join: signaling_url and the kernel's word about it */
  #word;
  /** @type {SignalingSession | null} */ #session = null;

  /** @param {LineHooks} hooks */
  constructor(hooks) {
    this.#call = hooks;
    this.#word = new SignalingWord(hooks.signalingUrl);
  }

  /** The session while in a call (or trying to be), else null. */
  get session() {
    return this.#session;
  }

  /** The target in use is this user's local signaling server (a stand-in). */
  get local() {
    return this.#word.local;
  }

  /** The target in use is the Hub's nbconference service. */
  get hub() {
    return this.#word.hub;
  }

  /**
   * Where to join, once the kernel has said so and we are signed in; null when the call
   * cannot go on (hung up meanwhile, or an error, said).
   * @returns {Promise<Target | null>}
   */
  async reach() {
    let target = this.#word.target();
    // The token for signaling_url comes by message, not in the widget's saved state (and
    // under a Hub, the word on where to join, which may first say "still finding out"); a
    // kernel busy running a cell answers when it is done.
    while ("wait" in target) {
      const waitingFor = this.#call.signalingUrl()
        ? "to hand over the signaling token"
        : "to say where to join";
      this.#call.setStatus("connecting", `Waiting for the kernel ${waitingFor}…`);
      await this.#word.wait();
      if (!this.#call.connecting()) return null;
      target = this.#word.target();
    }
    if ("error" in target) {
      this.#call.fail(target.error);
      return null;
    }
    return (await this.#signIn(target)) ? target : null;
  }

  /**
   * Sign in to the Hub's nbconference service when `target` is one (its cookie
   * authenticates the socket). False when the call cannot go on: hung up meanwhile, or
   * the sign-in failed (said).
   * @param {Target} target
   */
  async #signIn(target) {
    if (!target.login) return true;
    this.#call.setStatus("connecting", "Signing in to the Hub's nbconference service…");
    const signedIn = await hubLogin(target.login);
    if (!this.#call.connecting()) return false;
    if ("error" in signedIn) {
      this.#call.fail(signedIn.error);
      return false;
    }
    return true;
  }

  /** Open the session on `target`. @param {Target} target */
  open(target) {
    this.#word.via = target;
    this.#session = new SignalingSession(target, {
      ...this.#call.room(),
      onStatus: (status, reason) => {
        if (status === "error" && target.advice) {
          // Unreachable before we ever joined, and the kernel knows what would help: say
          // it and stop, rather than keep the camera on for retries that cannot succeed.
          this.#call.fail(target.advice);
          return;
        }
        // While the kernel has not said where to join, an unreachable page server may
        // only mean that its word (a local stand-in) is on the way: still connecting.
        const undecided = status === "error" && !this.#word.decided;
        this.#call.setStatus(undecided ? "connecting" : status, reason || "Joining…");
        if (status === "error" && !undecided) this.#call.setError(reason);
      },
      onFatal: (reason) => this.#call.fail(reason),
    });
    this.#session.connect();
  }

  /**
   * The kernel's word on where to join. Before the call is up (`settled` false), a word
   * that changes the target moves the session to it.
   * @param {SignalingInfo} info @param {boolean} settled
   */
  heard(info, settled) {
    const next = this.#word.heard(info);
    if (this.#session && !settled && next) {
      this.#session.close();
      this.#session = null;
      void this.#signIn(next).then((ok) => ok && !this.#session && this.open(next));
    }
  }

  /** Leave the room and forget the target. */
  hangUp() {
    this.#session?.leave();
    this.#session = null;
    this.#word.via = null;
  }
}
