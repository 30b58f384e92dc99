// @ts-check
// One RTCPeerConnection to one remote peer, negotiated with MDN "perfect negotiation"
// (negotiation.js, whose state is its own). What the rest may know of the link is a
// read-only record (MediaLink, planes.js: getters only); the mesh (mesh.js), which owns
// the link, changes it through the methods below.
//
// Roles of the m-lines. The peer that was in the room first sends the first offer, with
// its audio and camera transceivers first; the newcomer answers by reusing exactly those
// (replaceTrack + direction) rather than adding tracks, so no extra offer goes out. The
// first audio and first video transceiver of a connection are therefore the "main" pair
// on both sides. Every other video transceiver carries a screen share: each side adds its
// own (sendonly) the first time it shares and reuses it afterwards, so m-lines stay bounded
// and the receiver can tell a screen from a camera by its transceiver alone, whatever
// stream ids or track ids the browser picks.
//
// The first offer also opens the view channel (VIEW_CHANNEL), on which each side tells
// the other how large it shows its camera and screen; each side encodes its tracks for
// this peer alone as planned (sending.js), with setParameters.
import { Negotiation } from "./negotiation.js";
import { VIEW_CHANNEL } from "./protocol.js";
import { applyPlan } from "./sending.js";
import { ViewChannel } from "./view-channel.js";

const DISCONNECTED_GRACE_MS = 3000;
const RESTART_MIN_INTERVAL_MS = 2000;
/** A link not connected by then has no network path (different networks without TURN). */
export const NO_PATH_MS = 15000;

/**
 * @typedef {object} MediaSnapshot
 * @property {MediaStreamTrack | null} audio
 * @property {MediaStreamTrack | null} video
 * @property {boolean} canSendAudio  false when the microphone is unavailable: recvonly
 * @property {boolean} canSendVideo  false when the camera is unavailable: recvonly
 * @property {MediaStream} stream  the stream our main tracks are announced in
 *
 * @typedef {object} PeerLinkOptions
 * @property {string} id
 * @property {string} name
 * @property {Partial<import("./protocol.js").PeerState>} state  as the peer announced it
 * @property {boolean} polite  the polite side yields when offers collide
 * @property {RTCConfiguration} ice  ICE servers and which candidates to use
 * @property {(data: import("./protocol.js").SignalData) => void} send
 * @property {() => void} onChange  media or connection state changed
 * @property {(error: unknown, what: string) => void} onFailure
 * @property {() => void} onNoPath  not connected NO_PATH_MS after the start
 * @property {() => void} onAsked  the peer told us a new size it shows us at
 * @property {(phase: "offer" | "ice") => void} [onPhase]  a step of joining: our first
 *   offer went out or theirs came (`offer`), ICE connected (`ice`); see timeline.js
 *
 * @typedef {import("./protocol.js").Shown} Shown
 * @typedef {import("./budget.js").SendPlan} SendPlan
 */

export class PeerLink {
  // -- what the link is: read by the plane (mesh.js) and, as a MediaLink, the meters --

  /** @type {string} */ #id;
  /** @type {string} */ #name;
  /** @type {Partial<import("./protocol.js").PeerState>} */ #state;
  /** @type {RTCPeerConnection} */ #pc;
  /** @type {RTCRtpTransceiver | null} */ #audio = null;
  /** @type {RTCRtpTransceiver | null} */ #video = null;
  /** @type {RTCRtpTransceiver | null} our screen share, once we have shared */
  #screen = null;
  #remoteStream = new MediaStream();
  /** @type {MediaStream | null} the remote screen share, while it is live */
  #remoteScreen = null;
  /** @type {SendPlan | null} how our camera is encoded for this peer */
  #cameraPlan = null;
  /** @type {SendPlan | null} how our screen share is encoded for this peer */
  #screenPlan = null;
  /** never connected within NO_PATH_MS: there is no route between us */
  #noPath = false;
  #closed = false;

  // -- perfect negotiation, and the rest of the link's own machinery -------------------

  /** @type {Negotiation} offers and answers (perfect negotiation) */ #negotiation;
  /** @type {MediaSnapshot | null} */ #local = null;
  /** true once our main transceivers exist and carry our media (after the first answer) */
  #ready = false;
  /** @type {{ track: MediaStreamTrack, stream: MediaStream } | null} shared before we could */
  #deferredScreen = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #disconnectTimer = undefined;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #noPathTimer = undefined;
  #lastRestart = 0;
  /** the link is on its way out (the room moved to the SFU): no ICE restarts */
  #noRestart = false;
  /** @type {Promise<void>} setParameters calls, one at a time */
  #encoding = Promise.resolve();
  /** @type {ViewChannel} where sizes are asked for, both ways */
  #views;
  /** @type {() => void} */ #onChange;
  /** @type {(error: unknown, what: string) => void} */ #onFailure;
  /** @type {() => void} */ #onAsked;
  /** @type {(phase: "offer" | "ice") => void} */ #onPhase;

  /** @param {PeerLinkOptions} options */
  constructor(options) {
    this.#id = options.id;
    this.#name = options.name;
    this.#state = options.state;
    this.#onChange = options.onChange;
    this.#onFailure = options.onFailure;
    this.#onAsked = options.onAsked;
    this.#onPhase = options.onPhase ?? (() => {});
    this.#pc = new RTCPeerConnection(options.ice);
    this.#negotiation = new Negotiation({
      pc: this.#pc,
      polite: options.polite,
      send: options.send,
      closed: () => this.#closed,
      onFailure: (error, what) => this.#onFailure(error, what),
      onPhase: (phase) => this.#onPhase(phase),
      beforeAnswer: () => this.#beforeAnswer(),
      afterAnswer: (first) => this.#afterAnswer(first),
    });
    this.#views = new ViewChannel(() => {
      if (!this.#closed) this.#onAsked();
    });
    this.#noPathTimer = setTimeout(() => {
      if (this.#closed || this.#pc.connectionState === "connected") return;
      this.#noPath = true;
      options.onNoPath();
      this.#onChange();
    }, NO_PATH_MS);
    this.#wire();
  }

  // -- the record (MediaLink, planes.js): read-only -------------------------------------

  get id() {
    return this.#id;
  }

  /** the peer's display name */
  get name() {
    return this.#name;
  }

  /** the peer's camera, microphone, screen and hand, as it announced them */
  get state() {
    return this.#state;
  }

  /** how this peer's media reach us (stats' `via`): a connection of its own */
  get via() {
    return /** @type {const} */ ("direct");
  }

  /** the connection that carries this peer, and only it */
  get pc() {
    return this.#pc;
  }

  /** @returns {ReadonlySet<string> | null} null: every mid of the connection is this peer's */
  get mids() {
    return null;
  }

  /** @returns {0 | 1 | 2 | null} a mesh link has no simulcast layers (the SFU feeds do) */
  get layer() {
    return null;
  }

  /** the main audio transceiver: its receiver carries the peer's voice, its sender ours */
  get audio() {
    return this.#audio;
  }

  /** the main video transceiver: the peer's camera and ours */
  get video() {
    return this.#video;
  }

  /** the transceiver that sends our screen share, once we have shared */
  get screen() {
    return this.#screen;
  }

  /** the peer's camera and voice */
  get remoteStream() {
    return this.#remoteStream;
  }

  /** the peer's screen share, while it is live */
  get remoteScreen() {
    return this.#remoteScreen;
  }

  /** how our camera is encoded for this peer (sending.js), null before the first plan */
  get cameraPlan() {
    return this.#cameraPlan;
  }

  /** how our screen share is encoded for this peer, null before the first plan */
  get screenPlan() {
    return this.#screenPlan;
  }

  /** How large the peer shows our camera and screen; null until it says. */
  get asked() {
    return this.#views.asked;
  }

  /** mid of the camera's m-line, once negotiated */
  get cameraMid() {
    return this.#video?.mid ?? null;
  }

  /** never connected within NO_PATH_MS: there is no route between us */
  get noPath() {
    return this.#noPath;
  }

  get closed() {
    return this.#closed;
  }

  // -- what the plane tells the link ----------------------------------------------------

  /**
   * The server told us more of who the peer is (its name, its announced state).
   * @param {string} name @param {Partial<import("./protocol.js").PeerState>} state
   */
  describe(name, state) {
    this.#name = name;
    this.#state = { ...this.#state, ...state };
  }

  /** The peer announced a new state. @param {Partial<import("./protocol.js").PeerState>} state */
  updateState(state) {
    this.#state = { ...this.#state, ...state };
  }

  /** The link is on its way out (the room moved to the SFU): no more ICE restarts. */
  retire() {
    this.#noRestart = true;
  }

  /**
   * New ICE servers or policy, for the link's next gathering (an ICE restart).
   * @param {RTCConfiguration} ice
   */
  configureIce(ice) {
    try {
      this.#pc.setConfiguration({ ...this.#pc.getConfiguration(), ...ice });
    } catch (error) {
      this.#onFailure(error, "applying new ICE servers");
    }
  }

  /** Report a failure of a step the plane ran on this link. @param {unknown} error @param {string} what */
  fail(error, what) {
    this.#onFailure(error, what);
  }

  // -- the connection's events, and negotiation (negotiation.js) ---------------------

  #wire() {
    const pc = this.#pc;
    pc.ontrack = ({ track, transceiver }) => this.#addRemoteTrack(track, transceiver);
    pc.onconnectionstatechange = () => this.#connectionChanged();
    pc.oniceconnectionstatechange = () => {
      if (["connected", "completed"].includes(pc.iceConnectionState)) this.#onPhase("ice");
    };
    pc.ondatachannel = ({ channel }) => {
      if (channel.label === VIEW_CHANNEL) this.#views.attach(channel);
    };
    // Encodings exist once a negotiation settles: apply what was planned before that.
    pc.onsignalingstatechange = () => {
      if (pc.signalingState === "stable") this.#applyPlans();
    };
  }

  /**
   * We were in the room first: open the main transceivers, which triggers our offer.
   * @param {MediaSnapshot} local
   */
  startAsOfferer(local) {
    this.#local = local;
    this.#audio = this.#pc.addTransceiver(local.audio ?? "audio", {
      direction: local.canSendAudio ? "sendrecv" : "recvonly",
      streams: [local.stream],
    });
    this.#video = this.#pc.addTransceiver(local.video ?? "video", {
      direction: local.canSendVideo ? "sendrecv" : "recvonly",
      streams: [local.stream],
    });
    // In the same task as the transceivers: one offer carries all three.
    this.#views.attach(this.#pc.createDataChannel(VIEW_CHANNEL));
    this.#ready = true;
  }

  /** Tell the peer how large we show it. @param {Shown} shown */
  want(shown) {
    this.#views.want(shown);
  }

  /**
   * We are the newcomer: remember our media and wait for the other side's offer.
   * @param {MediaSnapshot} local
   */
  startAsAnswerer(local) {
    this.#local = local;
  }

  /** @param {import("./protocol.js").SignalData} data */
  handleSignal(data) {
    return this.#negotiation.handle(data);
  }

  /**
   * The peer's offer is set: on the first, take its main transceivers for ours and put
   * our media on them before we answer. True when it was the first.
   */
  async #beforeAnswer() {
    const first = !this.#ready;
    if (first) {
      this.#assignMainTransceivers();
      if (this.#local) await this.applyLocalMedia(this.#local);
    }
    return first;
  }

  /** Our answer went out: after the first, our screen share may follow. @param {boolean} first */
  #afterAnswer(first) {
    if (!first) return;
    this.#ready = true;
    this.#applyDeferredScreen();
  }

  /** The newcomer's side of the first offer: its first audio and video m-lines are main. */
  #assignMainTransceivers() {
    if (this.#audio || this.#video) return;
    const transceivers = this.#pc.getTransceivers();
    this.#audio = transceivers.find((t) => t.receiver.track.kind === "audio") ?? null;
    this.#video = transceivers.find((t) => t.receiver.track.kind === "video") ?? null;
  }

  // -- our media on this link -----------------------------------------------------------

  /**
   * Put our current microphone and camera on the main transceivers. A change of
   * direction (a device became available) renegotiates by itself.
   * @param {MediaSnapshot} local
   */
  async applyLocalMedia(local) {
    this.#local = local;
    if (!this.#audio && !this.#video) return;
    /** @type {[RTCRtpTransceiver | null, MediaStreamTrack | null, boolean][]} */
    const pairs = [
      [this.#audio, local.audio, local.canSendAudio],
      [this.#video, local.video, local.canSendVideo],
    ];
    for (const [transceiver, track, canSend] of pairs) {
      if (!transceiver || transceiver.currentDirection === "stopped") continue;
      if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
      transceiver.sender.setStreams?.(local.stream);
      const direction = canSend ? "sendrecv" : "recvonly";
      if (transceiver.direction !== direction) transceiver.direction = direction;
    }
  }

  /**
   * Start (track) or stop (null) sending our screen share to this peer.
   * @param {MediaStreamTrack | null} track
   * @param {MediaStream | null} stream
   */
  async setScreen(track, stream) {
    if (!this.#ready) {
      // Our first offer must not come before theirs; share once we have answered.
      this.#deferredScreen = track && stream ? { track, stream } : null;
      return;
    }
    if (track && stream) {
      if (!this.#screen) {
        this.#screen = this.#pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
        return;
      }
      await this.#screen.sender.replaceTrack(track);
      this.#screen.sender.setStreams?.(stream);
      this.#screen.direction = "sendonly";
    } else if (this.#screen) {
      await this.#screen.sender.replaceTrack(null);
      this.#screen.direction = "inactive";
    }
  }

  #applyDeferredScreen() {
    const deferred = this.#deferredScreen;
    this.#deferredScreen = null;
    if (deferred) {
      this.setScreen(deferred.track, deferred.stream).catch((e) => this.#onFailure(e, "sharing"));
    }
  }

  // -- the peer's media -----------------------------------------------------------------

  /** @param {MediaStreamTrack} track @param {RTCRtpTransceiver} transceiver */
  #addRemoteTrack(track, transceiver) {
    // ontrack of the first offer fires inside setRemoteDescription, before we answer.
    this.#assignMainTransceivers();
    if (transceiver === this.#audio || transceiver === this.#video) {
      for (const old of this.#remoteStream.getTracks()) {
        if (old.kind === track.kind && old !== track) this.#remoteStream.removeTrack(old);
      }
      if (!this.#remoteStream.getTracks().includes(track)) this.#remoteStream.addTrack(track);
    } else if (track.kind === "video") {
      this.#showScreen(track);
      // A stopped share mutes the track (it does not end it); sharing again unmutes it.
      track.onmute = () => this.#hideScreen(track);
      track.onunmute = () => this.#showScreen(track);
      track.onended = () => this.#hideScreen(track);
    }
    this.#onChange();
  }

  /** @param {MediaStreamTrack} track */
  #showScreen(track) {
    if (this.#remoteScreen?.getVideoTracks()[0] === track) return;
    this.#remoteScreen = new MediaStream([track]);
    this.#onChange();
  }

  /** @param {MediaStreamTrack} track */
  #hideScreen(track) {
    if (this.#remoteScreen?.getVideoTracks()[0] !== track) return;
    this.#remoteScreen = null;
    this.#onChange();
  }

  // -- the connection -------------------------------------------------------------------

  #connectionChanged() {
    const state = this.#pc.connectionState;
    clearTimeout(this.#disconnectTimer);
    if (state === "connected") {
      clearTimeout(this.#noPathTimer);
      this.#noPath = false;
    }
    if (state === "disconnected") {
      // Often a blip: give ICE a moment to recover by itself before restarting it.
      this.#disconnectTimer = setTimeout(() => {
        if (this.#pc.connectionState === "disconnected") this.#restartIce();
      }, DISCONNECTED_GRACE_MS);
    } else if (state === "failed") {
      this.#restartIce();
    }
    this.#onChange();
  }

  #restartIce() {
    if (this.#closed || this.#noRestart) return;
    const now = Date.now();
    const wait = Math.max(0, this.#lastRestart + RESTART_MIN_INTERVAL_MS - now);
    this.#lastRestart = now + wait;
    setTimeout(() => {
      if (!this.#closed && ["disconnected", "failed"].includes(this.#pc.connectionState)) {
        this.#pc.restartIce();
      }
    }, wait);
  }

  // -- encoding -------------------------------------------------------------------------

  /** @param {SendPlan} plan  how to encode our camera for this peer */
  setVideoEncoding(plan) {
    this.#cameraPlan = plan;
    this.#applyPlans();
  }

  /** @param {SendPlan} plan  how to encode our screen share for this peer */
  setScreenEncoding(plan) {
    this.#screenPlan = plan;
    this.#applyPlans();
  }

  /** Put the plans into the senders' parameters, one call at a time, in order. */
  #applyPlans() {
    this.#encoding = this.#encoding
      .then(async () => {
        await applyPlan(this.#video?.sender, this.#cameraPlan);
        await applyPlan(this.#screen?.sender, this.#screenPlan);
      })
      .catch((error) => {
        // A negotiation under way may refuse it; the next plan or negotiation retries.
        if (!this.#closed) console.warn("nbconference: setting the encoding failed", error);
      });
  }

  close() {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#disconnectTimer);
    clearTimeout(this.#noPathTimer);
    const pc = this.#pc;
    this.#negotiation.close();
    pc.ontrack = null;
    pc.onconnectionstatechange = null;
    pc.oniceconnectionstatechange = null;
    pc.ondatachannel = null;
    pc.onsignalingstatechange = null;
    this.#views.close();
    pc.close();
  }
}
