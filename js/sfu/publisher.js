// @ts-check
// Our one publisher connection to the SFU: microphone, camera (simulcast, three layers)
// and screen share, each on a sendonly transceiver of its own. All three exist from the
// first offer, with or without a track, and tracks come and go with replaceTrack, so
// the publisher is negotiated once: the SFU answers, and receivers choose the layer.
import { sfuPublishMessage, sfuTrickleMessage } from "../protocol.js";

/**
 * The camera's simulcast layers, highest first (Janus' order: substream 2 is "h"). The
 * browser drops the top layers its capture is too small for.
 * @type {RTCRtpEncodingParameters[]}
 */
export const CAMERA_LAYERS = [
  { rid: "h", active: true, maxBitrate: 900_000 },
  { rid: "m", active: true, maxBitrate: 300_000, scaleResolutionDownBy: 2 },
  { rid: "l", active: true, maxBitrate: 100_000, scaleResolutionDownBy: 4 },
];

/**
 * @typedef {import("../peer.js").MediaSnapshot} MediaSnapshot
 * @typedef {import("../protocol.js").SfuCandidate} SfuCandidate
 *
 * @typedef {object} PublisherOptions
 * @property {() => RTCConfiguration} ice  ICE servers and policy as they are now
 * @property {(frame: object) => void} send  an SFU frame to the server
 * @property {() => void} onChange
 * @property {(error: unknown, what: string) => void} onFailure
 */

export class SfuPublisher {
  /** @type {PublisherOptions} */ #options;
  /** @type {RTCRtpTransceiver} */ audio;
  /** @type {RTCRtpTransceiver} */ camera;
  /** @type {RTCRtpTransceiver} */ screen;
  /** @type {RTCIceCandidateInit[]} Janus' candidates, waiting for its answer */
  #early = [];
  closed = false;

  /**
   * @param {PublisherOptions} options
   * @param {MediaSnapshot} local  our microphone and camera now
   * @param {MediaStreamTrack | null} screen  our screen share, if on
   */
  constructor(options, local, screen) {
    this.#options = options;
    this.pc = new RTCPeerConnection(options.ice());
    this.audio = this.pc.addTransceiver(local.audio ?? "audio", {
      direction: "sendonly",
      streams: [local.stream],
    });
    this.camera = this.pc.addTransceiver(local.video ?? "video", {
      direction: "sendonly",
      streams: [local.stream],
      sendEncodings: CAMERA_LAYERS,
    });
    this.screen = this.pc.addTransceiver(screen ?? "video", { direction: "sendonly" });
    this.pc.onicecandidate = ({ candidate }) => {
      const init = candidate?.candidate ? candidate.toJSON() : null;
      options.send(sfuTrickleMessage("publisher", /** @type {SfuCandidate | null} */ (init)));
    };
    this.pc.onconnectionstatechange = () => options.onChange();
  }

  /** Offer our three streams to the SFU (its `sfu-answer` comes to answered()). */
  async publish() {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const sdp = this.pc.localDescription?.sdp;
    if (this.closed || !sdp) return;
    const streams = [
      { mid: this.audio.mid ?? "", kind: /** @type {const} */ ("audio") },
      { mid: this.camera.mid ?? "", kind: /** @type {const} */ ("camera") },
      { mid: this.screen.mid ?? "", kind: /** @type {const} */ ("screen") },
    ];
    this.#options.send(sfuPublishMessage(sdp, streams));
  }

  /** @param {string} sdp  the SFU's answer */
  async answered(sdp) {
    if (this.closed) return;
    await this.pc.setRemoteDescription({ type: "answer", sdp });
    for (const candidate of this.#early.splice(0)) await this.pc.addIceCandidate(candidate);
  }

  /** @param {SfuCandidate | null} candidate  Janus' side (null: it has no more) */
  async trickle(candidate) {
    if (this.closed) return;
    const init = candidate ?? { candidate: "" };
    if (!this.pc.remoteDescription) this.#early.push(init);
    else await this.pc.addIceCandidate(init);
  }

  /** Our microphone or camera changed. @param {MediaSnapshot} local */
  async applyLocalMedia(local) {
    if (this.closed) return;
    if (this.audio.sender.track !== local.audio) await this.audio.sender.replaceTrack(local.audio);
    if (this.camera.sender.track !== local.video) await this.camera.sender.replaceTrack(local.video);
  }

  /** @param {MediaStreamTrack | null} track  our screen share, or null when it stops */
  async setScreen(track) {
    if (this.closed || this.screen.sender.track === track) return;
    await this.screen.sender.replaceTrack(track);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.pc.onicecandidate = null;
    this.pc.onconnectionstatechange = null;
    this.pc.close();
  }
}
