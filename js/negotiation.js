// @ts-check
// MDN "perfect negotiation" for one RTCPeerConnection: offers when the connection needs
// one, answers the peer's, and yields (the polite side) or ignores (the impolite side)
// an offer that collides with ours. Its state (makingOffer, ignoreOffer, the candidates
// that wait for a remote description) is its own; the link (peer.js) hears only when an
// offer is to be answered, so that it can put its media on the transceivers first.

/**
 * @typedef {import("./protocol.js").SignalData} SignalData
 *
 * @typedef {object} NegotiationOptions
 * @property {RTCPeerConnection} pc
 * @property {boolean} polite  the polite side yields when offers collide
 * @property {(data: SignalData) => void} send
 * @property {() => boolean} closed  the link is closed: nothing more to do or report
 * @property {(error: unknown, what: string) => void} onFailure
 * @property {(phase: "offer") => void} onPhase  our first offer went out, or theirs came
 * @property {() => Promise<boolean>} beforeAnswer  an offer is set: get ready to answer
 *   it; true when it is the first (see afterAnswer)
 * @property {(first: boolean) => void} afterAnswer  our answer went out
 */

export class Negotiation {
  /** @type {NegotiationOptions} */ #options;
  #makingOffer = false;
  #ignoreOffer = false;
  #isSettingRemoteAnswerPending = false;
  /** @type {RTCIceCandidateInit[]} remote candidates waiting for a remote description */
  #pendingCandidates = [];
  /** @type {Promise<void>} signals are handled one at a time, in order */
  #chain = Promise.resolve();

  /** @param {NegotiationOptions} options */
  constructor(options) {
    this.#options = options;
    const { pc, send } = options;
    pc.onnegotiationneeded = async () => {
      try {
        this.#makingOffer = true;
        await pc.setLocalDescription();
        if (pc.localDescription) {
          send({ description: pc.localDescription.toJSON() });
          options.onPhase("offer");
        }
      } catch (error) {
        if (!options.closed()) options.onFailure(error, "creating an offer");
      } finally {
        this.#makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      // An empty candidate only marks the end; peers that do not trickle choke on it.
      if (candidate?.candidate) send({ candidate: candidate.toJSON() });
    };
  }

  /** @param {SignalData} data */
  handle(data) {
    this.#chain = this.#chain
      .then(() => this.#apply(data))
      .catch((error) => {
        if (!this.#options.closed()) this.#options.onFailure(error, "applying a signal");
      });
    return this.#chain;
  }

  /** @param {SignalData} data */
  async #apply({ description, candidate }) {
    const { pc, polite, send, closed } = this.#options;
    if (closed()) return;
    if (description) {
      const readyForOffer =
        !this.#makingOffer && (pc.signalingState === "stable" || this.#isSettingRemoteAnswerPending);
      const offerCollision = description.type === "offer" && !readyForOffer;
      this.#ignoreOffer = !polite && offerCollision;
      if (this.#ignoreOffer) return;
      if (description.type === "offer") this.#options.onPhase("offer");
      this.#isSettingRemoteAnswerPending = description.type === "answer";
      try {
        await pc.setRemoteDescription(description);
      } finally {
        this.#isSettingRemoteAnswerPending = false;
      }
      await this.#flushCandidates();
      if (description.type === "offer") {
        const first = await this.#options.beforeAnswer();
        await pc.setLocalDescription();
        if (pc.localDescription) send({ description: pc.localDescription.toJSON() });
        this.#options.afterAnswer(first);
      }
    } else if (candidate) {
      if (!pc.remoteDescription) {
        this.#pendingCandidates.push(candidate);
        return;
      }
      await this.#addCandidate(candidate);
    }
  }

  async #flushCandidates() {
    const pending = this.#pendingCandidates;
    this.#pendingCandidates = [];
    for (const candidate of pending) await this.#addCandidate(candidate);
  }

  /** @param {RTCIceCandidateInit} candidate */
  async #addCandidate(candidate) {
    try {
      await this.#options.pc.addIceCandidate(candidate);
    } catch (error) {
      // Candidates of an offer we ignored in a collision are expected to fail.
      if (!this.#ignoreOffer) throw error;
    }
  }

  /** Stop hearing from the connection (the link closes it). */
  close() {
    this.#options.pc.onnegotiationneeded = null;
    this.#options.pc.onicecandidate = null;
  }
}
