// @ts-check
// The SFU media plane: one publisher and one subscriber connection to the server's Janus
// carry the whole call, signaled by the sfu-* frames on our own socket. Each remote
// participant is an SfuFeed (feed.js): the same read-only record the mesh's links give
// the meters (MediaLink, planes.js), and the streams its tiles show.
import { substreamFor } from "../budget.js";
import { personOf, strangerInfo } from "../people.js";
import { SFU_SERVER } from "../protocol.js";
import { SfuFeed } from "./feed.js";
import { SfuPublisher } from "./publisher.js";
import { SfuSubscriber } from "./subscriber.js";

/**
 * @typedef {import("../protocol.js").PeerInfo} PeerInfo
 * @typedef {import("../protocol.js").PeerState} PeerState
 * @typedef {import("../protocol.js").SfuFeed} FeedInfo
 * @typedef {import("../people.js").Person} Person
 * @typedef {import("../mesh.js").PeerRecord} PeerRecord
 * @typedef {import("./lines.js").Carried} Carried
 * @typedef {import("./lines.js").FeedStream} FeedStream
 * @typedef {ReturnType<typeof import("../protocol.js").readSfuFrame> & object} SfuFrame
 *
 * @typedef {object} SfuPlaneOptions
 * @property {(frame: object) => void} send  an SFU frame to the server
 * @property {import("../local-media.js").LocalMedia} media
 * @property {(id: string, track: MediaStreamTrack | null) => void} voice  a remote voice
 *   arrived (or went) through the SFU
 * @property {() => void} onChange
 * @property {(message: string) => void} onProblem  readable, for the widget's notice line
 * @property {(id: string) => import("../protocol.js").Shown} shown  how large we show a
 *   peer's camera and screen (0: not at all): which streams and layer we receive
 * @property {() => RTCConfiguration} ice  the server's ICE servers and policy, as they are
 *   now (TURN credentials are renewed)
 */

/** After the SFU did not answer, we publish again this long later (doubling, up to MAX). */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 2000;

export class SfuPlane {
  /** @type {SfuPlaneOptions} */ #options;
  /** @type {SfuPublisher | null} */ publisher = null;
  /** @type {SfuSubscriber | null} */ subscriber = null;
  /** @type {Map<string, Person>} who each remote participant is */
  people = new Map();
  /** @type {Map<string, SfuFeed>} by peer id: everyone in the room but us */
  #feeds = new Map();
  /** @type {FeedInfo[]} the room's feeds, as the SFU last listed them */
  #listed = [];
  /** the SFU has listed our own feed: its listing without it means the SFU lost it */
  #live = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} a restart after the SFU was away */
  #retry = undefined;
  /** the next retry's wait (doubles while the SFU stays away) */
  #retryMs = RETRY_FIRST_MS;
  /** the SFU did not answer our last request, and has not answered since */
  away = false;
  selfId = "";

  /** @param {SfuPlaneOptions} options */
  constructor(options) {
    this.#options = options;
  }

  get started() {
    return this.publisher !== null;
  }

  /**
   * Publish our media and receive the others' from now on.
   * @param {string} selfId
   */
  start(selfId) {
    if (this.publisher) return;
    this.selfId = selfId;
    const { ice } = this.#options;
    const { send, media, onChange } = this.#options;
    const onFailure = (/** @type {unknown} */ error, /** @type {string} */ what) => {
      const reason = error instanceof Error ? error.message : String(error);
      console.warn(`nbconference: ${what} failed`, error);
      this.#options.onProblem(`Media through the server: ${what} failed (${reason}).`);
    };
    const screen = media.screen?.getVideoTracks()[0] ?? null;
    this.publisher = new SfuPublisher({ ice, send, onChange, onFailure }, media.snapshot(), screen);
    this.publisher.publish().catch((error) => onFailure(error, "publishing"));
    this.subscriber = new SfuSubscriber({
      ice,
      send,
      onChange,
      onFailure,
      onTrack: (line, track, transceiver) => this.#arrived(line, track, transceiver),
      onDropped: (line) => this.#gone(line),
    });
    this.#subscribe();
  }

  // -- who is in the room (the same room events as the mesh) ---------------------------

  /** @param {PeerInfo} peer */
  add(peer) {
    this.people.set(peer.id, personOf(peer));
    this.#feed(peer.id).updateState(peer.state);
    this.#options.onChange();
  }

  /**
   * A peer we knew on the mesh before the move.
   * @param {string} id @param {Person | undefined} person @param {Partial<PeerState>} state
   */
  adopt(id, person, state) {
    if (person) this.people.set(id, person);
    this.#feed(id).updateState(state);
  }

  /** @param {PeerInfo} peer */
  describe(peer) {
    this.add(peer);
  }

  /** @param {string} id */
  drop(id) {
    const feed = this.#feeds.get(id);
    this.people.delete(id);
    if (!feed) return;
    feed.close();
    this.#feeds.delete(id);
    this.#options.voice(id, null);
    this.#options.onChange();
  }

  /** @param {string} id @param {Partial<PeerState>} state */
  updateState(id, state) {
    const feed = this.#feeds.get(id);
    if (!feed) return;
    feed.updateState(state);
    this.#options.onChange();
  }

  /** @param {string} id */
  #feed(id) {
    let feed = this.#feeds.get(id);
    if (!feed) {
      feed = new SfuFeed(id, {}, () => this.subscriber?.pc ?? null);
      this.#feeds.set(id, feed);
    }
    return feed;
  }

  // -- the SFU's frames ---------------------------------------------------------------

  /** @param {SfuFrame} frame */
  frame(frame) {
    const publisher = this.publisher;
    const subscriber = this.subscriber;
    if (!publisher || !subscriber) return; // not on the SFU (yet): nothing to do with it
    const fail = (/** @type {unknown} */ error) =>
      console.warn("nbconference: an SFU frame could not be applied", frame.type, error);
    switch (frame.type) {
      case SFU_SERVER.ANSWER:
        this.#reached();
        publisher.answered(frame.sdp).catch(fail);
        break;
      case SFU_SERVER.OFFER:
        this.#reached();
        subscriber.offered(frame.sdp, frame.streams);
        break;
      case SFU_SERVER.FEEDS:
        this.#listed = frame.feeds;
        if (frame.feeds.some((feed) => feed.peer === this.selfId)) {
          this.#reached();
          this.#live = true;
          this.#retryMs = RETRY_FIRST_MS;
        }
        else if (this.#live) {
          // The SFU lost our feed (its Janus restarted): publish and subscribe anew.
          this.#restart();
          break;
        }
        this.#subscribe();
        break;
      case SFU_SERVER.TRICKLE:
        (frame.pc === "publisher" ? publisher : subscriber).trickle(frame.candidate).catch(fail);
        break;
    }
  }

  /** Both connections anew, for an SFU that forgot them; the room's people stay. */
  #restart() {
    this.publisher?.close();
    this.subscriber?.close();
    this.publisher = null;
    this.subscriber = null;
    this.#live = false;
    for (const feed of this.#feeds.values()) {
      feed.reset();
      this.#options.voice(feed.id, null);
    }
    this.start(this.selfId);
    this.#options.onChange();
  }

  /**
   * New ICE servers or policy from the server (planes.js): both connections take them,
   * for their next gathering (an ICE restart), which is when TURN checks credentials.
   */
  configureIce() {
    const ice = this.#options.ice();
    for (const pc of [this.publisher?.pc, this.subscriber?.pc]) {
      if (!pc) continue;
      try {
        pc.setConfiguration({ ...pc.getConfiguration(), ...ice });
      } catch (error) {
        console.warn("nbconference: applying new ICE servers to the SFU connections failed", error);
      }
    }
  }

  /**
   * The SFU did not answer a request (its Janus is away): publish and subscribe anew a
   * little later, waiting longer each time it is still away.
   */
  unavailable() {
    if (!this.publisher) return;
    if (!this.away) {
      this.away = true;
      this.#options.onChange();
    }
    if (this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (this.publisher) this.#restart();
    }, this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
  }

  /** The SFU answered (its Janus is there): no longer away. */
  #reached() {
    if (!this.away) return;
    this.away = false;
    this.#options.onChange();
  }

  /** The SFU refused a request: the subscription starts over from what it lists next. */
  refused() {
    this.subscriber?.refused();
  }

  /**
   * Ask for what we show of every feed but ours: every voice; a camera in sight at the
   * layer its tile needs (substreamFor), none out of sight; a screen while the peer is
   * in sight at all.
   */
  #subscribe() {
    /** @type {FeedStream[]} */
    const streams = [];
    for (const feed of this.#listed) {
      if (feed.peer === this.selfId) continue;
      const shown = this.#options.shown(feed.peer);
      for (const s of feed.streams) {
        const stream = { feed: feed.peer, mid: s.mid, kind: s.kind };
        if (s.kind === "audio") streams.push(stream);
        else if (s.kind === "screen" && (shown.screen > 0 || shown.camera > 0)) streams.push(stream);
        else if (s.kind === "camera") {
          const substream = substreamFor(shown.camera);
          this.#feed(feed.peer).setLayer(substream);
          if (substream !== null) streams.push({ ...stream, substream });
        }
      }
    }
    this.subscriber?.want(streams);
  }

  /** What we show of the peers changed: receive what we now show, at its layer. */
  updateWants() {
    this.#subscribe();
  }

  /** @param {Carried} line @param {MediaStreamTrack} track @param {RTCRtpTransceiver} transceiver */
  #arrived(line, track, transceiver) {
    const feed = this.#feed(line.feed);
    feed.arrived(line.kind, track, transceiver);
    if (line.kind === "audio") this.#options.voice(feed.id, track);
    this.#options.onChange();
  }

  /** @param {Carried} line */
  #gone(line) {
    const feed = this.#feeds.get(line.feed);
    if (!feed) return;
    feed.gone(line.kind);
    if (line.kind === "audio") this.#options.voice(feed.id, null);
    this.#options.onChange();
  }

  // -- our media ----------------------------------------------------------------------

  /** Our microphone or camera changed. */
  applyLocalMedia() {
    this.publisher
      ?.applyLocalMedia(this.#options.media.snapshot())
      .catch((error) => console.warn("nbconference: updating the SFU publisher failed", error));
  }

  /** @param {MediaStream | null} screen */
  setScreen(screen) {
    this.publisher
      ?.setScreen(screen?.getVideoTracks()[0] ?? null)
      .catch((error) => console.warn("nbconference: sharing through the SFU failed", error));
  }

  // -- what the rest reads ------------------------------------------------------------

  /**
   * The feed of `id`, if we know of one (its record, read-only), whatever it carries yet.
   * @param {string} id
   */
  feedOf(id) {
    return this.#feeds.get(id);
  }

  /** The feeds that have media on the subscriber connection: what the meters sample. */
  links() {
    /** @type {Map<string, SfuFeed>} */
    const links = new Map();
    if (!this.subscriber?.pc) return links;
    for (const [id, feed] of this.#feeds) if (feed.mids.size > 0) links.set(id, feed);
    return links;
  }

  /** @param {string} id @returns {PeerRecord} */
  record(id) {
    const feed = this.#feed(id);
    const pc = this.subscriber?.pc;
    const state = feed.state;
    return {
      ...(this.people.get(id) ?? personOf(strangerInfo(id))),
      id,
      camera: state.camera ?? true,
      microphone: state.microphone ?? true,
      screen: state.screen ?? false,
      hand: typeof state.hand === "number" ? state.hand : 0,
      connection: pc && feed.mids.size > 0 ? pc.connectionState : "new",
      problem: "",
      stream: feed.remoteStream,
      screenStream: state.screen === false ? null : feed.remoteScreen,
    };
  }

  /** Everyone in the room we know of, as the views and the kernel see them. */
  roster() {
    return [...this.people.keys()].map((id) => this.record(id));
  }

  clear() {
    for (const id of [...this.#feeds.keys()]) this.drop(id);
    this.people.clear();
    this.#listed = [];
    this.#live = false;
    this.away = false;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#retryMs = RETRY_FIRST_MS;
    this.publisher?.close();
    this.subscriber?.close();
    this.publisher = null;
    this.subscriber = null;
    this.selfId = "";
  }
}
