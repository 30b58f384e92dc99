// @ts-check
// The call's media planes behind one interface: the mesh (a PeerLink per remote peer) or
// the SFU (one publisher and one subscriber connection through the server's Janus). The
// server decides which a room uses (`welcome.media`, the `media` frame); the views, the
// meters and the kernel read the same records either way.
//
// The move from mesh to SFU is make-before-break: on the `media` frame we publish and
// subscribe through the SFU while every mesh link goes on; each link closes once that
// peer's camera decodes through the SFU (or HANDOVER_MS after its feed arrived, for a
// camera that is off), and its voice moves to the SFU's track at that moment.
import { Mesh } from "./mesh.js";
import { ERROR } from "./protocol.js";
import { SfuPlane } from "./sfu/plane.js";

/** A mesh link is closed this long after its peer's SFU feed arrived, decoded or not. */
export const HANDOVER_MS = 3000;
/** A peer with no SFU feed this long after the move loses its mesh link anyway. */
export const HANDOVER_GIVE_UP_MS = 10000;
const HANDOVER_POLL_MS = 100;

/**
 * @typedef {import("./protocol.js").PeerInfo} PeerInfo
 * @typedef {import("./protocol.js").PeerState} PeerState
 * @typedef {"mesh" | "sfu"} MediaPlane  which plane carries the room's media
 * @typedef {import("./mesh.js").PeerRecord} PeerRecord
 * @typedef {import("./mesh.js").MeshOptions} MeshOptions
 * @typedef {import("./sfu/plane.js").SfuFrame} SfuFrame
 *
 * @typedef {object} MediaLink  one remote participant's media, as either plane exposes it
 *   (Mesh.links(), SfuPlane.links()): a read-only record, the same object for as long as
 *   it lasts (a PeerLink, or an SfuFeed), whose fields the plane alone changes. The
 *   meters, the handover and the test hooks read it; the views read PeerRecord instead.
 * @property {string} id
 * @property {"direct" | "sfu"} via  a mesh link of its own, or a feed through the SFU
 * @property {boolean} closed
 * @property {Readonly<Partial<PeerState>>} state  as the peer announced it
 * @property {RTCPeerConnection} pc  the connection that carries it (on the SFU, the
 *   subscriber connection, shared with every other feed): its route is this
 *   connection's (stats.js)
 * @property {ReadonlySet<string> | null} mids  the mids of `pc` that carry this peer;
 *   null: all of them
 * @property {string | null} cameraMid
 * @property {RTCRtpTransceiver | null} audio  whose receiver carries the peer's voice
 * @property {MediaStream} remoteStream  the peer's camera and voice
 * @property {MediaStream | null} remoteScreen  the peer's screen share while it is live
 * @property {import("./budget.js").SendPlan | null} cameraPlan  how we encode our camera
 *   for this peer alone (null on the SFU: receivers pick a layer)
 * @property {import("./budget.js").SendPlan | null} screenPlan  the same for our screen
 * @property {import("./protocol.js").Shown | null} asked  how large the peer shows us
 * @property {0 | 1 | 2 | null} layer  the simulcast layer of its camera we receive
 *   (through the SFU; null on a mesh link, or with no video)
 *
 * @typedef {MeshOptions & { sendFrame: (frame: object) => void }} PlanesOptions
 */

export class MediaPlanes {
  /** @type {PlanesOptions} */ #options;
  /** @type {MediaPlane} */ plane = "mesh";
  /** when the room moved to the SFU (performance.now()), 0 while it has not */
  #movedAt = 0;
  /** @type {Map<string, number>} when each peer's SFU feed first arrived here */
  #arrived = new Map();
  /** @type {ReturnType<typeof setInterval> | undefined} */ #handover;
  #checking = false;

  /** @param {PlanesOptions} options */
  constructor(options) {
    this.#options = options;
    this.mesh = new Mesh(options);
    this.sfu = new SfuPlane({
      send: options.sendFrame,
      media: options.media,
      onChange: options.onChange,
      onProblem: options.onProblem,
      shown: options.shown,
      ice: () => this.mesh.ice,
      // While a mesh link still carries a peer, its voice plays from there.
      voice: (id, track) => {
        if (track && !this.#arrived.has(id)) this.#arrived.set(id, performance.now());
        if (!this.mesh.has(id)) options.audio.set(id, track);
      },
    });
  }

  /**
   * We joined as someone new (welcome): every link and feed anew, on the room's plane.
   * @param {string} selfId @param {PeerInfo[]} others @param {MediaPlane} plane
   */
  reset(selfId, others, plane) {
    this.clear();
    this.plane = plane;
    if (plane === "sfu") {
      this.mesh.selfId = selfId;
      this.mesh.retire();
      for (const peer of others) this.sfu.add(peer);
      this.sfu.start(selfId);
    } else {
      this.mesh.reset(selfId, others);
    }
  }

  /**
   * The server's ICE servers (TURN credentials, renewed before they expire) and policy,
   * for every connection of both planes.
   * @param {Partial<RTCConfiguration>} ice
   */
  configureIce(ice) {
    this.mesh.configureIce(ice);
    this.sfu.configureIce();
  }

  /**
   * We resumed within the grace window: catch up on who came and went meanwhile.
   * @param {PeerInfo[]} others @param {MediaPlane} plane
   */
  reconcile(others, plane) {
    if (this.plane === "sfu") {
      const ids = new Set(others.map((p) => p.id));
      for (const id of [...this.sfu.people.keys()]) if (!ids.has(id)) this.drop(id);
      for (const peer of others) if (!this.sfu.people.has(peer.id)) this.sfu.add(peer);
    } else {
      this.mesh.reconcile(others);
    }
    if (plane === "sfu") this.move();
  }

  /**
   * The room moved to the SFU: publish and subscribe there; each mesh link stays until
   * the SFU carries its peer (make before break).
   */
  move() {
    if (this.plane === "sfu") return;
    this.plane = "sfu";
    this.#movedAt = performance.now();
    this.mesh.retire();
    for (const link of this.mesh.links().values()) {
      this.sfu.adopt(link.id, this.mesh.people.get(link.id), link.state);
    }
    this.sfu.start(this.mesh.selfId);
    this.#handover = setInterval(() => void this.#handOver(), HANDOVER_POLL_MS);
    this.#options.onChange();
  }

  /** Close each mesh link whose peer the SFU now carries. */
  async #handOver() {
    if (this.#checking) return;
    this.#checking = true;
    try {
      const now = performance.now();
      for (const link of [...this.mesh.links().values()]) {
        const feed = this.sfu.feedOf(link.id);
        const arrived = this.#arrived.get(link.id);
        const broken = ["failed", "closed"].includes(link.pc.connectionState);
        const decoded = feed ? (await feed.framesDecoded()) > 0 : false;
        const waited = arrived !== undefined && now - arrived >= HANDOVER_MS;
        const gaveUp = now - this.#movedAt >= HANDOVER_GIVE_UP_MS;
        if (broken || decoded || waited || gaveUp) this.#release(link.id);
      }
    } finally {
      this.#checking = false;
    }
    if (this.mesh.size === 0) {
      clearInterval(this.#handover);
      this.#handover = undefined;
    }
  }

  /** @param {string} id */
  #release(id) {
    if (!this.mesh.has(id)) return;
    this.mesh.release(id);
    const voice = this.sfu.feedOf(id)?.audio?.receiver.track ?? null;
    this.#options.audio.set(id, voice);
  }

  // -- the room's events ----------------------------------------------------------------

  /** Someone joined after us. @param {PeerInfo} peer */
  joined(peer) {
    if (this.plane === "sfu") {
      this.sfu.add(peer);
      this.mesh.describe(peer);
    } else if (this.mesh.has(peer.id)) {
      this.mesh.describe(peer);
    } else {
      this.mesh.add(peer, true);
    }
  }

  /** @param {string} id */
  drop(id) {
    this.mesh.drop(id);
    this.sfu.drop(id);
    this.#arrived.delete(id);
  }

  /** @param {string} id @param {Partial<PeerState>} state */
  updateState(id, state) {
    this.mesh.updateState(id, state);
    this.sfu.updateState(id, state);
  }

  /** @param {string} from @param {import("./protocol.js").SignalData} data */
  signal(from, data) {
    this.mesh.signal(from, data);
  }

  /** @param {SfuFrame} frame */
  sfuFrame(frame) {
    this.sfu.frame(frame);
  }

  /**
   * An error the server sent once we joined: the SFU's refusals reach its plane. True
   * when it is news to show; false for an expected race, only worth a log line.
   * @param {import("./protocol.js").ErrorFrame} frame
   */
  heardError(frame) {
    // Our last signals to someone who has just left crossed their peer-left: expected.
    // Only an error naming a peer we still have is news (older servers name nobody).
    const stillHere = frame.peer !== undefined && this.has(frame.peer);
    // The SFU refused a subscription (a feed that just went): the next feeds list decides.
    if (frame.code === ERROR.SFU_REFUSED) this.sfu.refused();
    // The SFU did not answer (its Janus is away): the SFU plane tries again by itself.
    if (frame.code === ERROR.SFU_UNAVAILABLE) this.sfu.unavailable();
    // While the SFU is away, the view says so for as long as it lasts (sfuAway): the
    // requests it fails or refuses meanwhile are no news.
    const sfuError = frame.code === ERROR.SFU_UNAVAILABLE || frame.code === ERROR.SFU_REFUSED;
    if (sfuError && this.sfu.away) return false;
    return frame.code !== ERROR.UNKNOWN_PEER || stillHere;
  }

  // -- our media ----------------------------------------------------------------------

  applyLocalMedia() {
    this.mesh.applyLocalMedia();
    this.sfu.applyLocalMedia();
  }

  /** @param {MediaStream | null} screen */
  setScreen(screen) {
    this.mesh.setScreen(screen);
    this.sfu.setScreen(screen);
  }

  /** What we show of the peers changed. */
  updateWants() {
    this.mesh.updateWants();
    this.sfu.updateWants();
  }

  /** @param {boolean} speaking */
  setSpeaking(speaking) {
    this.mesh.setSpeaking(speaking);
  }

  // -- what the rest reads --------------------------------------------------------------

  /** Who a remote peer is, on whichever plane knows. @param {string} id */
  person(id) {
    return this.mesh.people.get(id) ?? this.sfu.people.get(id);
  }

  /** A remote peer is in the call with us. @param {string} id */
  has(id) {
    return this.mesh.has(id) || this.sfu.people.has(id);
  }

  /**
   * One record per remote peer; during the move, a peer still on its mesh link shows
   * that link's media.
   * @returns {PeerRecord[]}
   */
  roster() {
    if (this.plane === "mesh") return this.mesh.roster();
    const mesh = new Map(this.mesh.roster().map((record) => [record.id, record]));
    return [...this.sfu.people.keys()].map((id) => mesh.get(id) ?? this.sfu.record(id));
  }

  /**
   * What the meters sample, by peer id: each peer's mesh link while it has one, else
   * its SFU feed.
   * @returns {Map<string, MediaLink>}
   */
  links() {
    /** @type {Map<string, MediaLink>} */
    const links = new Map(this.sfu.links());
    for (const [id, link] of this.mesh.links()) links.set(id, link);
    return links;
  }

  /** Where our own voice is sent from (for the speaker meter), if anywhere. */
  ownVoice() {
    const publisher = this.sfu.publisher?.audio.sender;
    if (publisher?.track) return publisher;
    for (const link of this.mesh.links().values()) if (link.audio?.sender.track) return link.audio.sender;
    return null;
  }

  clear() {
    clearInterval(this.#handover);
    this.#handover = undefined;
    this.#arrived.clear();
    this.#movedAt = 0;
    this.mesh.clear();
    this.sfu.clear();
    this.plane = "mesh";
  }
}
