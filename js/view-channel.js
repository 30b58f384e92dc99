// @ts-check
// One link's view channel (VIEW_CHANNEL, see protocol.js): we tell the peer how large we
// show its camera and screen, it tells us how large it shows ours.
import { readViewRequest, viewRequest } from "./protocol.js";

/** @typedef {import("./protocol.js").Shown} Shown */

export class ViewChannel {
  /** @type {RTCDataChannel | null} */ #channel = null;
  /** @type {Shown | null} how large we show the peer (what we ask of it) */
  #wants = null;
  /** @type {Shown | null} how large the peer shows us; null until it says */
  #asked = null;
  /** @type {() => void} */ #onAsked;

  /** @param {() => void} onAsked  the peer told us a new size (or can no longer tell) */
  constructor(onAsked) {
    this.#onAsked = onAsked;
  }

  /** How large the peer shows our camera and screen; null until it says. */
  get asked() {
    return this.#asked;
  }

  /** How large we show the peer, as we last asked. */
  get wants() {
    return this.#wants;
  }

  /** The channel, made by us with the first offer or by the peer. @param {RTCDataChannel} channel */
  attach(channel) {
    this.#channel = channel;
    channel.onopen = () => this.#send();
    channel.onmessage = ({ data }) => {
      const asked = readViewRequest(data);
      if (!asked) return;
      this.#asked = asked;
      this.#onAsked();
    };
    channel.onclose = () => {
      if (this.#channel !== channel) return;
      this.#channel = null;
      this.#asked = null;
      this.#onAsked();
    };
  }

  /**
   * Tell the peer how large we show it: now if the channel is open, else when it opens.
   * @param {Shown} shown
   */
  want(shown) {
    if (this.#wants?.camera === shown.camera && this.#wants?.screen === shown.screen) return;
    this.#wants = shown;
    this.#send();
  }

  close() {
    const channel = this.#channel;
    this.#channel = null;
    if (channel) {
      channel.onopen = channel.onmessage = channel.onclose = null;
      channel.close();
    }
  }

  #send() {
    if (this.#wants && this.#channel?.readyState === "open") {
      this.#channel.send(viewRequest(this.#wants));
    }
  }
}
