// @ts-check
// One RTCPeerConnection to one remote peer, negotiated with MDN "perfect negotiation".
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
  /** @param {PeerLinkOptions} options */
  constructor(options) {
    this.id = options.id;
    this.name = options.name;
    this.state = options.state;
    this.polite = options.polite;
    this.send = options.send;
    this.onChange = options.onChange;
    this.onFailure = options.onFailure;
    this.onAsked = options.onAsked;
    this.onPhase = options.onPhase ?? (() => {});
    this.pc = new RTCPeerConnection(options.ice);
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.isSettingRemoteAnswerPending = false;
    /** @type {RTCIceCandidateInit[]} remote candidates waiting for a remote description */
    this.pendingCandidates = [];
    /** @type {RTCRtpTransceiver | null} */ this.audio = null;
    /** @type {RTCRtpTransceiver | null} */ this.video = null;
    /** @type {RTCRtpTransceiver | null} our screen share, once we have shared */
    this.screen = null;
    /** @type {MediaSnapshot | null} */ this.local = null;
    /** true once our main transceivers exist and carry our media (after the first answer) */
    this.ready = false;
    /** @type {{ track: MediaStreamTrack, stream: MediaStream } | null} shared before we could */
    this.deferredScreen = null;
    this.remoteStream = new MediaStream();
    /** @type {MediaStream | null} the remote screen share, while it is live */
    this.remoteScreen = null;
    /** @type {Promise<void>} signals are handled one at a time, in order */
    this.chain = Promise.resolve();
    /** @type {ReturnType<typeof setTimeout> | undefined} */ this.disconnectTimer = undefined;
    this.lastRestart = 0;
    /** where sizes are asked for, both ways */
    this.views = new ViewChannel(() => {
      if (!this.closed) this.onAsked();
    });
    /** @type {SendPlan | null} how our camera is encoded for this peer */
    this.cameraPlan = null;
    /** @type {SendPlan | null} how our screen share is encoded for this peer */
    this.screenPlan = null;
    /** @type {Promise<void>} setParameters calls, one at a time */
    this.encoding = Promise.resolve();
    /** never connected within NO_PATH_MS: there is no route between us */
    this.noPath = false;
    this.noPathTimer = setTimeout(() => {
      if (this.closed || this.pc.connectionState === "connected") return;
      this.noPath = true;
      options.onNoPath();
      this.onChange();
    }, NO_PATH_MS);
    this.closed = false;
    /** the link is on its way out (the room moved to the SFU): no ICE restarts */
    this.noRestart = false;
    /** how this peer's media reach us (stats' `via`) */
    this.via = /** @type {const} */ ("direct");
    /** @type {ReadonlySet<string> | null} null: every mid of the connection is this peer's */
    this.mids = null;
    /** @type {0 | 1 | 2 | null} a mesh link has no simulcast layers (the SFU feeds do) */
    this.layer = null;
    this.wire();
  }

  wire() {
    const pc = this.pc;
    pc.onnegotiationneeded = async () => {
      try {
        this.makingOffer = true;
        await pc.setLocalDescription();
        if (pc.localDescription) {
          this.send({ description: pc.localDescription.toJSON() });
          this.onPhase("offer");
        }
      } catch (error) {
        if (!this.closed) this.onFailure(error, "creating an offer");
      } finally {
        this.makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      // An empty candidate only marks the end; peers that do not trickle choke on it.
      if (candidate?.candidate) this.send({ candidate: candidate.toJSON() });
    };
    pc.ontrack = ({ track, transceiver }) => this.addRemoteTrack(track, transceiver);
    pc.onconnectionstatechange = () => this.connectionChanged();
    pc.oniceconnectionstatechange = () => {
      if (["connected", "completed"].includes(pc.iceConnectionState)) this.onPhase("ice");
    };
    pc.ondatachannel = ({ channel }) => {
      if (channel.label === VIEW_CHANNEL) this.views.attach(channel);
    };
    // Encodings exist once a negotiation settles: apply what was planned before that.
    pc.onsignalingstatechange = () => {
      if (pc.signalingState === "stable") this.applyPlans();
    };
  }

  /**
   * We were in the room first: open the main transceivers, which triggers our offer.
   * @param {MediaSnapshot} local
   */
  startAsOfferer(local) {
    this.local = local;
    this.audio = this.pc.addTransceiver(local.audio ?? "audio", {
      direction: local.canSendAudio ? "sendrecv" : "recvonly",
      streams: [local.stream],
    });
    this.video = this.pc.addTransceiver(local.video ?? "video", {
      direction: local.canSendVideo ? "sendrecv" : "recvonly",
      streams: [local.stream],
    });
    // In the same task as the transceivers: one offer carries all three.
    this.views.attach(this.pc.createDataChannel(VIEW_CHANNEL));
    this.ready = true;
  }

  /** How large the peer shows our camera and screen; null until it says. */
  get asked() {
    return this.views.asked;
  }

  /** Tell the peer how large we show it. @param {Shown} shown */
  want(shown) {
    this.views.want(shown);
  }

  /**
   * We are the newcomer: remember our media and wait for the other side's offer.
   * @param {MediaSnapshot} local
   */
  startAsAnswerer(local) {
    this.local = local;
  }

  /** @param {import("./protocol.js").SignalData} data */
  handleSignal(data) {
    this.chain = this.chain
      .then(() => this.applySignal(data))
      .catch((error) => {
        if (!this.closed) this.onFailure(error, "applying a signal");
      });
    return this.chain;
  }

  /** @param {import("./protocol.js").SignalData} data */
  async applySignal({ description, candidate }) {
    if (this.closed) return;
    const pc = this.pc;
    if (description) {
      const readyForOffer =
        !this.makingOffer && (pc.signalingState === "stable" || this.isSettingRemoteAnswerPending);
      const offerCollision = description.type === "offer" && !readyForOffer;
      this.ignoreOffer = !this.polite && offerCollision;
      if (this.ignoreOffer) return;
      if (description.type === "offer") this.onPhase("offer");
      this.isSettingRemoteAnswerPending = description.type === "answer";
      try {
        await pc.setRemoteDescription(description);
      } finally {
        this.isSettingRemoteAnswerPending = false;
      }
      await this.flushCandidates();
      if (description.type === "offer") {
        const first = !this.ready;
        if (first) {
          this.assignMainTransceivers();
          if (this.local) await this.applyLocalMedia(this.local);
        }
        await pc.setLocalDescription();
        if (pc.localDescription) this.send({ description: pc.localDescription.toJSON() });
        if (first) {
          this.ready = true;
          this.applyDeferredScreen();
        }
      }
    } else if (candidate) {
      if (!pc.remoteDescription) {
        this.pendingCandidates.push(candidate);
        return;
      }
      await this.addCandidate(candidate);
    }
  }

  async flushCandidates() {
    const pending = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const candidate of pending) await this.addCandidate(candidate);
  }

  /** @param {RTCIceCandidateInit} candidate */
  async addCandidate(candidate) {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (error) {
      // Candidates of an offer we ignored in a collision are expected to fail.
      if (!this.ignoreOffer) throw error;
    }
  }

  /** The newcomer's side of the first offer: its first audio and video m-lines are main. */
  assignMainTransceivers() {
    if (this.audio || this.video) return;
    const transceivers = this.pc.getTransceivers();
    this.audio = transceivers.find((t) => t.receiver.track.kind === "audio") ?? null;
    this.video = transceivers.find((t) => t.receiver.track.kind === "video") ?? null;
  }

  /**
   * Put our current microphone and camera on the main transceivers. A change of
   * direction (a device became available) renegotiates by itself.
   * @param {MediaSnapshot} local
   */
  async applyLocalMedia(local) {
    this.local = local;
    if (!this.audio && !this.video) return;
    /** @type {[RTCRtpTransceiver | null, MediaStreamTrack | null, boolean][]} */
    const pairs = [
      [this.audio, local.audio, local.canSendAudio],
      [this.video, local.video, local.canSendVideo],
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
    if (!this.ready) {
      // Our first offer must not come before theirs; share once we have answered.
      this.deferredScreen = track && stream ? { track, stream } : null;
      return;
    }
    if (track && stream) {
      if (!this.screen) {
        this.screen = this.pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
        return;
      }
      await this.screen.sender.replaceTrack(track);
      this.screen.sender.setStreams?.(stream);
      this.screen.direction = "sendonly";
    } else if (this.screen) {
      await this.screen.sender.replaceTrack(null);
      this.screen.direction = "inactive";
    }
  }

  applyDeferredScreen() {
    const deferred = this.deferredScreen;
    this.deferredScreen = null;
    if (deferred) {
      this.setScreen(deferred.track, deferred.stream).catch((e) => this.onFailure(e, "sharing"));
    }
  }

  /** @param {MediaStreamTrack} track @param {RTCRtpTransceiver} transceiver */
  addRemoteTrack(track, transceiver) {
    // ontrack of the first offer fires inside setRemoteDescription, before we answer.
    this.assignMainTransceivers();
    if (transceiver === this.audio || transceiver === this.video) {
      for (const old of this.remoteStream.getTracks()) {
        if (old.kind === track.kind && old !== track) this.remoteStream.removeTrack(old);
      }
      if (!this.remoteStream.getTracks().includes(track)) this.remoteStream.addTrack(track);
    } else if (track.kind === "video") {
      this.showScreen(track);
      // A stopped share mutes the track (it does not end it); sharing again unmutes it.
      track.onmute = () => this.hideScreen(track);
      track.onunmute = () => this.showScreen(track);
      track.onended = () => this.hideScreen(track);
    }
    this.onChange();
  }

  /** @param {MediaStreamTrack} track */
  showScreen(track) {
    if (this.remoteScreen?.getVideoTracks()[0] === track) return;
    this.remoteScreen = new MediaStream([track]);
    this.onChange();
  }

  /** @param {MediaStreamTrack} track */
  hideScreen(track) {
    if (this.remoteScreen?.getVideoTracks()[0] !== track) return;
    this.remoteScreen = null;
    this.onChange();
  }

  connectionChanged() {
    const state = this.pc.connectionState;
    clearTimeout(this.disconnectTimer);
    if (state === "connected") {
      clearTimeout(this.noPathTimer);
      this.noPath = false;
    }
    if (state === "disconnected") {
      // Often a blip: give ICE a moment to recover by itself before restarting it.
      this.disconnectTimer = setTimeout(() => {
        if (this.pc.connectionState === "disconnected") this.restartIce();
      }, DISCONNECTED_GRACE_MS);
    } else if (state === "failed") {
      this.restartIce();
    }
    this.onChange();
  }

  /** mid of the camera's m-line, once negotiated */
  get cameraMid() {
    return this.video?.mid ?? null;
  }

  restartIce() {
    if (this.closed || this.noRestart) return;
    const now = Date.now();
    const wait = Math.max(0, this.lastRestart + RESTART_MIN_INTERVAL_MS - now);
    this.lastRestart = now + wait;
    setTimeout(() => {
      if (!this.closed && ["disconnected", "failed"].includes(this.pc.connectionState)) {
        this.pc.restartIce();
      }
    }, wait);
  }

  /** @param {SendPlan} plan  how to encode our camera for this peer */
  setVideoEncoding(plan) {
    this.cameraPlan = plan;
    this.applyPlans();
  }

  /** @param {SendPlan} plan  how to encode our screen share for this peer */
  setScreenEncoding(plan) {
    this.screenPlan = plan;
    this.applyPlans();
  }

  /** Put the plans into the senders' parameters, one call at a time, in order. */
  applyPlans() {
    this.encoding = this.encoding
      .then(async () => {
        await applyPlan(this.video?.sender, this.cameraPlan);
        await applyPlan(this.screen?.sender, this.screenPlan);
      })
      .catch((error) => {
        // A negotiation under way may refuse it; the next plan or negotiation retries.
        if (!this.closed) console.warn("nbconference: setting the encoding failed", error);
      });
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.disconnectTimer);
    clearTimeout(this.noPathTimer);
    this.pc.onnegotiationneeded = null;
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.onconnectionstatechange = null;
    this.pc.oniceconnectionstatechange = null;
    this.pc.ondatachannel = null;
    this.pc.onsignalingstatechange = null;
    this.views.close();
    this.pc.close();
  }
}
