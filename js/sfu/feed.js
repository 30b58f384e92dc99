// @ts-check
// One remote participant's media through the SFU: the same read-only record (MediaLink,
// planes.js) as a mesh link gives, for the meters and the handover, and the streams its
// tiles show. The SFU plane (plane.js) tells it what arrived and what went; nothing else
// changes it.

/**
 * @typedef {import("../protocol.js").PeerState} PeerState
 * @typedef {import("../protocol/sfu.js").SfuKind} SfuKind
 * @typedef {{ audio?: RTCRtpTransceiver, camera?: RTCRtpTransceiver, screen?: RTCRtpTransceiver }} FeedLines
 *   the subscriber connection's transceivers that carry this feed, by kind
 */

export class SfuFeed {
  /** @type {string} */ #id;
  /** @type {Partial<PeerState>} */ #state;
  /** @type {() => RTCPeerConnection | null} */ #pc;
  #closed = false;
  /** @type {0 | 1 | 2 | null} the camera's simulcast layer we ask for; null: no video */
  #layer = null;
  #remoteStream = new MediaStream();
  /** @type {MediaStream | null} the peer's screen share while it is live */
  #remoteScreen = null;
  /** @type {FeedLines} */
  #lines = {};

  /**
   * @param {string} id
   * @param {Partial<PeerState>} state
   * @param {() => RTCPeerConnection | null} pc  the subscriber connection
   */
  constructor(id, state, pc) {
    this.#id = id;
    this.#state = state;
    this.#pc = pc;
  }

  // -- the record (MediaLink, planes.js): read-only -------------------------------------

  get id() {
    return this.#id;
  }

  get via() {
    return /** @type {const} */ ("sfu");
  }

  /** the peer's camera, microphone, screen and hand, as it announced them */
  get state() {
    return this.#state;
  }

  get closed() {
    return this.#closed;
  }

  /** @returns {null} the SFU sends what the receiver picks: no plan of ours per peer */
  get cameraPlan() {
    return null;
  }

  /** @returns {null} */
  get screenPlan() {
    return null;
  }

  /** @returns {null} the peer asks the SFU, not us, for a size */
  get asked() {
    return null;
  }

  /** the camera's simulcast layer we ask for; null: no video */
  get layer() {
    return this.#layer;
  }

  /** the peer's camera and voice */
  get remoteStream() {
    return this.#remoteStream;
  }

  /** the peer's screen share while it is live */
  get remoteScreen() {
    return this.#remoteScreen;
  }

  /** @returns {Readonly<FeedLines>} the transceivers that carry it, by kind */
  get lines() {
    return { ...this.#lines };
  }

  /** The connection that carries this feed (shared with every other feed). */
  get pc() {
    return /** @type {RTCPeerConnection} */ (this.#pc());
  }

  /** The subscriber connection's mids that carry this feed. */
  get mids() {
    return new Set(Object.values(this.#lines).flatMap((t) => (t.mid === null ? [] : [t.mid])));
  }

  get cameraMid() {
    return this.#lines.camera?.mid ?? null;
  }

  get audio() {
    return this.#lines.audio ?? null;
  }

  /** Frames of its camera decoded here so far (0 before the first). */
  async framesDecoded() {
    const receiver = this.#lines.camera?.receiver;
    if (!receiver || this.#closed) return 0;
    let frames = 0;
    (await receiver.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") frames = Math.max(frames, s.framesDecoded ?? 0);
    });
    return frames;
  }

  // -- what the SFU plane tells it ------------------------------------------------------

  /** The peer announced a new state. @param {Partial<PeerState>} state */
  updateState(state) {
    this.#state = { ...this.#state, ...state };
  }

  /** The layer of its camera we now ask for. @param {0 | 1 | 2 | null} layer */
  setLayer(layer) {
    this.#layer = layer;
  }

  /**
   * One of its streams arrived on the subscriber connection.
   * @param {SfuKind} kind @param {MediaStreamTrack} track @param {RTCRtpTransceiver} transceiver
   */
  arrived(kind, track, transceiver) {
    this.#lines[kind] = transceiver;
    if (kind === "screen") {
      this.#remoteScreen = new MediaStream([track]);
      return;
    }
    for (const old of this.#remoteStream.getTracks()) {
      if (old.kind === track.kind && old !== track) this.#remoteStream.removeTrack(old);
    }
    if (!this.#remoteStream.getTracks().includes(track)) this.#remoteStream.addTrack(track);
  }

  /** One of its streams no longer reaches us. @param {SfuKind} kind */
  gone(kind) {
    const transceiver = this.#lines[kind];
    delete this.#lines[kind];
    if (kind === "screen") this.#remoteScreen = null;
    else if (transceiver) this.#remoteStream.removeTrack(transceiver.receiver.track);
  }

  /** Its streams are gone with the connections that carried them (a restart). */
  reset() {
    this.#lines = {};
    for (const track of this.#remoteStream.getTracks()) this.#remoteStream.removeTrack(track);
    this.#remoteScreen = null;
  }

  /** The peer left. */
  close() {
    this.#closed = true;
  }
}
