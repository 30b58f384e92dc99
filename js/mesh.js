// @ts-check
// The full mesh: one PeerLink per remote peer, who offers to whom, our media on every
// link, each encoded for what its receiver shows (sending.js), and what we show of each.
import { PeerLink } from "./peer.js";
import { personOf, strangerInfo } from "./people.js";
import { Sending } from "./sending.js";

/**
 * What to tell the user when a link never connects: with no TURN server, the usual cause
 * is that the two are on different networks.
 * @param {string} label  the peer's name
 * @param {RTCIceServer[]} iceServers
 */
export function noPathMessage(label, iceServers) {
  const urls = iceServers.flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]));
  if (urls.some((url) => /^turns?:/.test(url))) {
    return `Cannot connect to ${label}, even through the TURN server: check that it is reachable.`;
  }
  return (
    `Cannot connect to ${label}: there is no network path between you. Across networks ` +
    "or firewalls a call needs a TURN server (c.NBConference.turn_urls and turn_secret); " +
    "ask whoever runs this Jupyter server."
  );
}

/**
 * @typedef {import("./protocol.js").PeerInfo} PeerInfo
 * @typedef {import("./protocol.js").PeerState} PeerState
 *
 * @typedef {import("./people.js").Person} Person
 * @typedef {import("./planes.js").MediaLink} MediaLink
 *
 * @typedef {object} PeerState_  what a peer's link is doing
 * @property {string} id
 * @property {boolean} camera  as the peer announced it
 * @property {boolean} microphone
 * @property {boolean} screen
 * @property {number} hand  when its hand went up (ms, the server's stamp), 0 when down
 * @property {RTCPeerConnectionState} connection
 * @property {string} problem  why the link does not work, for people; "" when it does
 * @property {MediaStream} stream  the peer's camera and voice (the live stream)
 * @property {MediaStream | null} screenStream  the peer's screen share while it is shown
 *
 * @typedef {Person & PeerState_} PeerRecord  one remote peer: what its tiles show, and
 *   (its JSON fields, see peerTraits) what the kernel hears of it
 *
 * @typedef {object} MeshOptions
 * @property {(to: string, data: import("./protocol.js").SignalData) => void} send
 * @property {import("./local-media.js").LocalMedia} media
 * @property {import("./audio.js").AudioSinks} audio
 * @property {() => void} onChange
 * @property {(message: string) => void} onProblem  readable, for the widget's notice line
 * @property {(id: string) => import("./protocol.js").Shown} shown  how large we show a
 *   peer's camera and screen (0: not at all), which we ask it to send
 * @property {(phase: "offer" | "ice") => void} [onPhase]  a link reached a step of
 *   joining (timeline.js)
 */

export class Mesh {
  /** @type {Map<string, PeerLink>} by peer id: the link to each remote peer */
  #links = new Map();

  /** @param {MeshOptions} options */
  constructor(options) {
    this.options = options;
    /** @type {Map<string, Person>} who each remote peer is */
    this.people = new Map();
    this.selfId = "";
    /** @type {RTCConfiguration} the server's word, for every link (see configureIce) */
    this.ice = { iceServers: [], iceTransportPolicy: "all" };
    this.sending = new Sending(() => this.#links, options.media);
    /** the room moved to the SFU: no new links, the ones left close as it takes over */
    this.retired = false;
  }

  /**
   * The room moved to the SFU (planes.js): from now on no link is made, offers for new
   * ones are ignored, and the links left are kept, without ICE restarts, until each is
   * released.
   */
  retire() {
    this.retired = true;
    for (const link of this.#links.values()) link.retire();
  }

  /**
   * We joined as someone new: whatever we had belongs to the old identity. The peers
   * already in the room send us offers.
   * @param {string} selfId @param {PeerInfo[]} others
   */
  reset(selfId, others) {
    this.clear();
    this.retired = false;
    this.selfId = selfId;
    for (const peer of others) this.add(peer, false);
  }

  /**
   * The server gave ICE servers (fresh TURN credentials expire and are renewed) or
   * which candidates to use: new links take them, and so does every link's next
   * gathering (an ICE restart), which a TURN server checks the credentials for.
   * @param {Partial<RTCConfiguration>} ice
   */
  configureIce(ice) {
    this.ice = { ...this.ice, ...ice };
    for (const link of this.#links.values()) link.configureIce(this.ice);
  }

  /**
   * We resumed within the grace window: media kept flowing; catch up on who came and
   * went meanwhile. Those who came after us wait for our offer.
   * @param {PeerInfo[]} others
   */
  reconcile(others) {
    const ids = new Set(others.map((p) => p.id));
    for (const id of [...this.#links.keys()]) if (!ids.has(id)) this.drop(id);
    for (const peer of others) if (!this.#links.has(peer.id)) this.add(peer, true);
  }

  /**
   * @param {PeerInfo} peer
   * @param {boolean} weOffer  we were in the room first, so we send the first offer
   */
  add(peer, weOffer) {
    const { media } = this.options;
    const person = personOf(peer);
    const label = person.name;
    this.people.set(peer.id, person);
    const link = new PeerLink({
      id: peer.id,
      name: person.name,
      state: { ...peer.state },
      // Perfect negotiation needs exactly one polite side: the larger id yields.
      polite: this.selfId > peer.id,
      ice: this.ice,
      send: (data) => this.options.send(peer.id, data),
      onChange: () => this.linkChanged(link),
      onFailure: (error, what) => {
        const reason = error instanceof Error ? error.message : String(error);
        console.warn(`nbconference: ${what} with ${label} failed`, error);
        this.options.onProblem(`Connection to ${label}: ${what} failed (${reason}).`);
      },
      onNoPath: () => this.options.onProblem(this.problem(link)),
      onAsked: () => this.sending.update(),
      onPhase: (phase) => this.options.onPhase?.(phase),
    });
    this.#links.set(peer.id, link);
    link.want(this.options.shown(peer.id));
    if (weOffer) link.startAsOfferer(media.snapshot());
    else link.startAsAnswerer(media.snapshot());
    const screen = media.screen;
    if (screen) {
      link
        .setScreen(screen.getVideoTracks()[0] ?? null, screen)
        .catch((error) => link.fail(error, "sharing the screen"));
    }
    this.updateBitrates();
    this.options.onChange();
    return link;
  }

  /**
   * The server told us who a peer is after its first signal had made a link for it
   * (room events and signals may travel different paths across servers).
   * @param {PeerInfo} peer
   */
  describe(peer) {
    const link = this.#links.get(peer.id);
    if (!link) return;
    const person = personOf(peer);
    this.people.set(peer.id, person);
    link.describe(person.name, peer.state);
    this.options.onChange();
  }

  /** @param {string} id */
  drop(id) {
    if (!this.#links.has(id)) return;
    this.release(id);
    this.options.audio.remove(id);
  }

  /**
   * Close the link to `id`, leaving its voice playing: the SFU carries it on (planes.js).
   * @param {string} id
   */
  release(id) {
    const link = this.#links.get(id);
    if (!link) return;
    this.#links.delete(id);
    this.people.delete(id);
    link.close();
    this.updateBitrates();
    this.options.onChange();
  }

  /** @param {string} id @param {Partial<PeerState>} state */
  updateState(id, state) {
    const link = this.#links.get(id);
    if (!link) return;
    link.updateState(state);
    this.options.onChange();
  }

  /**
   * @param {string} from
   * @param {import("./protocol.js").SignalData} data
   */
  signal(from, data) {
    let link = this.#links.get(from);
    if (!link && this.retired) {
      // The room is on the SFU: a late offer for a new link is not taken up.
      console.info("nbconference: ignoring a mesh signal in an SFU room from", from);
      return;
    }
    if (!link && data?.description?.type === "offer") {
      // Room events and signals may travel different paths (several servers).
      link = this.add(strangerInfo(from), false);
    }
    if (link) link.handleSignal(data);
    else console.warn("nbconference: signal from an unknown peer", from);
  }

  /** @param {PeerLink} link */
  linkChanged(link) {
    if (link.closed) return;
    this.options.audio.set(link.id, link.remoteStream.getAudioTracks()[0] ?? null);
    if (link.pc.connectionState === "connected") this.updateBitrates();
    this.options.onChange();
  }

  /** The room, a request or our media changed: encode for each link as it now needs. */
  updateBitrates() {
    this.sending.update();
  }

  /** What we show of the peers changed: ask each for what we now show of it. */
  updateWants() {
    for (const link of this.#links.values()) link.want(this.options.shown(link.id));
  }

  /** @param {boolean} speaking  we are the active speaker */
  setSpeaking(speaking) {
    this.sending.setSpeaking(speaking);
  }

  /** Our microphone or camera changed: put the current tracks on every link. */
  applyLocalMedia() {
    const snapshot = this.options.media.snapshot();
    this.forEach((link) => link.applyLocalMedia(snapshot));
    this.updateBitrates();
  }

  /** @param {MediaStream | null} screen  start (a stream) or stop (null) sharing */
  setScreen(screen) {
    const track = screen?.getVideoTracks()[0] ?? null;
    this.forEach(async (link) => {
      await link.setScreen(track, screen);
      this.updateBitrates();
    });
    this.updateBitrates();
  }

  /**
   * Run an async step on every link, reporting failures instead of dropping them.
   * @param {(link: PeerLink) => unknown} step
   */
  forEach(step) {
    for (const link of this.#links.values()) {
      Promise.resolve()
        .then(() => step(link))
        .catch((error) => link.fail(error, "updating media"));
    }
  }

  /**
   * One record per remote peer: the views and the kernel's `peers` trait both derive
   * from it.
   * @returns {PeerRecord[]}
   */
  roster() {
    return [...this.#links.values()].map((link) => ({
      ...(this.people.get(link.id) ?? personOf(strangerInfo(link.id))),
      id: link.id,
      camera: link.state.camera ?? true,
      microphone: link.state.microphone ?? true,
      screen: link.state.screen ?? false,
      hand: typeof link.state.hand === "number" ? link.state.hand : 0,
      connection: link.pc.connectionState,
      problem: this.problem(link),
      stream: link.remoteStream,
      // A share the peer has announced as stopped may linger as a muted track: hide it.
      screenStream: link.state.screen === false ? null : link.remoteScreen,
    }));
  }

  /**
   * Why `link` does not work, said for the person in the call ("" if it does).
   * @param {PeerLink} link
   */
  problem(link) {
    return link.noPath ? noPathMessage(link.name || "this peer", this.ice.iceServers ?? []) : "";
  }

  // -- what the rest reads ------------------------------------------------------------

  /** We have a link to `id`. @param {string} id */
  has(id) {
    return this.#links.has(id);
  }

  /** How many links there are. */
  get size() {
    return this.#links.size;
  }

  /**
   * Each remote peer's media, by peer id: a read-only record (MediaLink, planes.js) per
   * link, as the meters, the handover and the test hooks read it.
   * @returns {ReadonlyMap<string, MediaLink>}
   */
  links() {
    return this.#links;
  }

  clear() {
    for (const id of [...this.#links.keys()]) this.drop(id);
  }
}

/**
 * The JSON fields of a peer record, as the kernel hears of it.
 * @param {PeerRecord} record
 */
export function peerTraits(record) {
  const { id, name, username, initials, color, avatar_url, verified, groups, widget } = record;
  const { camera, microphone, screen, hand, host, connection, problem } = record;
  return {
    id,
    name,
    username,
    initials,
    color,
    avatar_url,
    verified,
    groups,
    camera,
    microphone,
    screen,
    hand,
    host,
    connection,
    problem,
    widget,
  };
}
