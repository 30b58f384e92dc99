// @ts-check
// Our one subscriber connection to the SFU (Janus multistream): every feed we receive
// comes on it. The SFU offers (`sfu-offer`, with what each line carries), we answer
// (`sfu-answer`). We ask for one change at a time: Janus takes them in turn anyway, and a
// request that waits is merged with the next.
import { sfuAnswerMessage, sfuSubscribeMessage, sfuTrickleMessage, sfuUpdateMessage } from "../protocol.js";
import { offerLines, placeLines } from "./lines.js";

/**
 * @typedef {import("./lines.js").FeedStream} FeedStream
 * @typedef {import("./lines.js").Carried} Carried
 * @typedef {import("../protocol.js").SfuCandidate} SfuCandidate
 *
 * @typedef {object} SubscriberOptions
 * @property {() => RTCConfiguration} ice  ICE servers and policy as they are now
 * @property {(frame: object) => void} send  an SFU frame to the server
 * @property {(line: Carried, track: MediaStreamTrack, transceiver: RTCRtpTransceiver) => void} onTrack
 *   a feed's stream arrived on a line
 * @property {(line: Carried) => void} onDropped  a line carries that stream no more
 * @property {() => void} onChange  the connection's state changed
 * @property {(error: unknown, what: string) => void} onFailure
 */

/**
 * Layer changes go at most this often: Janus asks a publisher for a key frame (which a
 * switch waits for) at most once a second, so a second change sooner could wait for the
 * publisher's next key frame, many seconds away.
 */
const CONFIGURE_GAP_MS = 1100;

/** @param {FeedStream} s */
const keyOf = (s) => `${s.feed} ${s.mid}`;

export class SfuSubscriber {
  /** @type {SubscriberOptions} */ #options;
  /** @type {RTCPeerConnection | null} made by the SFU's first offer */
  pc = null;
  /** @type {Map<string, Carried>} what each line of the connection carries, by its mid */
  carried = new Map();
  /** @type {Map<string, FeedStream>} what we want to receive */
  #wanted = new Map();
  /** @type {Map<string, FeedStream>} what we asked the SFU for (placed or on the way) */
  #asked = new Map();
  /** @type {FeedStream[] | null} the streams of the request waiting for its offer */
  #pending = null;
  /** the SFU holds a subscription for us (sfu-subscribe was answered) */
  #joined = false;
  /** @type {Promise<void>} offers are handled one at a time, in order */
  #chain = Promise.resolve();
  /** @type {RTCIceCandidateInit[]} */
  #early = [];
  /** when we last asked for a layer (performance.now()), 0 before */
  #configuredAt = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} the next layer change, waiting */
  #configureTimer;
  closed = false;

  /** @param {SubscriberOptions} options */
  constructor(options) {
    this.#options = options;
  }

  /**
   * Receive exactly `streams` (asked as the SFU lets us, one batch at a time).
   * @param {FeedStream[]} streams
   */
  want(streams) {
    this.#wanted = new Map(streams.map((s) => [keyOf(s), s]));
    this.#next();
  }

  /**
   * Ask for the difference between what we want and what we asked: a new layer at once
   * (`configure`, no offer), streams to add or drop when no offer is awaited.
   */
  #next() {
    if (this.closed) return;
    this.#configure();
    if (this.#pending) return;
    const add = [...this.#wanted].filter(([key]) => !this.#asked.has(key)).map(([, s]) => s);
    const drop = [...this.#asked].filter(([key]) => !this.#wanted.has(key)).map(([, s]) => s);
    if (!add.length && !drop.length) return;
    for (const s of drop) this.#asked.delete(keyOf(s));
    for (const s of add) this.#asked.set(keyOf(s), { ...s });
    const named = (/** @type {FeedStream[]} */ list) =>
      list.map(({ feed, mid, substream }) => (substream === undefined ? { feed, mid } : { feed, mid, substream }));
    if (!this.#joined) {
      if (!add.length) return;
      this.#options.send(sfuSubscribeMessage(named(add)));
    } else {
      this.#options.send(sfuUpdateMessage(named(add), named(drop)));
    }
    this.#pending = add;
  }

  /**
   * Ask for the layer we now want of each camera already on a line of ours; within
   * CONFIGURE_GAP_MS of the last change, once that has passed (with what we want then).
   */
  #configure() {
    if (!this.#joined || this.#configureTimer !== undefined) return;
    const wait = this.#configuredAt + CONFIGURE_GAP_MS - performance.now();
    if (wait > 0) {
      this.#configureTimer = setTimeout(() => {
        this.#configureTimer = undefined;
        if (!this.closed) this.#configure();
      }, wait);
      return;
    }
    /** @type {{ feed: string, mid: string, substream: 0 | 1 | 2 }[]} */
    const changes = [];
    for (const [key, want] of this.#wanted) {
      const asked = this.#asked.get(key);
      if (!asked || want.substream === undefined || asked.substream === want.substream) continue;
      const line = [...this.carried.values()].find((c) => c.feed === want.feed && c.mid === want.mid);
      if (!line) continue; // on its way: asked for at the layer of its request
      changes.push({ feed: want.feed, mid: line.line, substream: want.substream });
      asked.substream = want.substream;
    }
    if (!changes.length) return;
    this.#configuredAt = performance.now();
    this.#options.send(sfuUpdateMessage([], [], changes));
  }

  /**
   * The SFU refused our last request (a feed that just went, say): forget what it asked
   * for; the next `sfu-feeds` says what there is.
   */
  refused() {
    for (const s of this.#pending ?? []) this.#asked.delete(keyOf(s));
    this.#pending = null;
  }

  /**
   * The SFU's offer: an answer to our request, or its own change (a feed went away).
   * @param {string} sdp @param {import("./lines.js").SfuCarried[]} streams  what its lines carry
   */
  offered(sdp, streams) {
    this.#chain = this.#chain
      .then(() => this.#answer(sdp, streams))
      .catch((error) => {
        if (!this.closed) this.#options.onFailure(error, "receiving through the SFU");
      });
  }

  /** @param {string} sdp @param {import("./lines.js").SfuCarried[]} streams */
  async #answer(sdp, streams) {
    if (this.closed) return;
    const pc = this.pc ?? this.#open();
    const kindOf = (/** @type {string} */ feed, /** @type {string} */ mid) =>
      this.#asked.get(`${feed} ${mid}`)?.kind ?? null;
    const { placed, dropped } = placeLines(this.carried, offerLines(sdp), streams, kindOf);
    // Janus answers our requests in turn; an offer of its own may come first, which only
    // lets the next request go a little early.
    this.#pending = null;
    this.#joined = true;
    // Janus asked the publishers for key frames for the lines it placed: a layer change
    // waits its turn after that (CONFIGURE_GAP_MS).
    this.#configuredAt = performance.now();
    for (const line of dropped) {
      // Gone by the SFU's own doing (its feed left): nothing to unsubscribe from.
      this.#asked.delete(keyOf(line));
      this.#options.onDropped(line);
    }
    await pc.setRemoteDescription({ type: "offer", sdp });
    // A line Janus moves from one feed to another (it reuses the line of a stream we
    // dropped) keeps receiving, so no `track` event says so: tell the plane here. (It
    // takes a line it was told of already in its stride.)
    for (const line of placed) {
      const transceiver = pc.getTransceivers().find((t) => t.mid === line.line);
      if (transceiver) this.#options.onTrack(line, transceiver.receiver.track, transceiver);
    }
    for (const candidate of this.#early.splice(0)) await pc.addIceCandidate(candidate);
    await pc.setLocalDescription(await pc.createAnswer());
    const answer = pc.localDescription?.sdp;
    if (answer && !this.closed) this.#options.send(sfuAnswerMessage(answer));
    this.#next();
  }

  #open() {
    const pc = new RTCPeerConnection(this.#options.ice());
    this.pc = pc;
    pc.onicecandidate = ({ candidate }) => {
      const init = candidate?.candidate ? candidate.toJSON() : null;
      this.#options.send(sfuTrickleMessage("subscriber", /** @type {SfuCandidate | null} */ (init)));
    };
    pc.ontrack = ({ track, transceiver }) => {
      const line = transceiver.mid === null ? undefined : this.carried.get(transceiver.mid);
      if (line) this.#options.onTrack(line, track, transceiver);
    };
    pc.onconnectionstatechange = () => this.#options.onChange();
    return pc;
  }

  /** @param {SfuCandidate | null} candidate  Janus' side (null: it has no more) */
  async trickle(candidate) {
    if (this.closed) return;
    const init = candidate ?? { candidate: "" };
    if (!this.pc?.remoteDescription) this.#early.push(init);
    else await this.pc.addIceCandidate(init);
  }

  /** The line that carries `feed`'s stream of `kind`, if any. @param {string} feed @param {string} kind */
  lineOf(feed, kind) {
    for (const line of this.carried.values()) {
      if (line.feed === feed && line.kind === kind) return line;
    }
    return null;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.#configureTimer);
    if (!this.pc) return;
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.onconnectionstatechange = null;
    this.pc.close();
  }
}
