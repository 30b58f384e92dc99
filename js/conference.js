// @ts-check
// One widget model's call: signaling, one PeerLink per remote peer, local media, stats.
// Its state is private: views render snapshot() on every "change" event and call its
// actions; the kernel hears of it through the `report` callback.
import { AudioSinks } from "./audio.js";
import { LocalMedia } from "./local-media.js";
import { Mesh } from "./mesh.js";
import { startMeters } from "./meters.js";
import { SERVER, describeError, joinMessage, signalMessage, stateMessage } from "./protocol.js";
import { SignalingSession, discoverSignalingUrl } from "./signaling.js";
import { traitsOf } from "./snapshot.js";

/**
 * @typedef {import("./snapshot.js").Status} Status
 * @typedef {{ get(name: string): unknown }} ModelReader  trait values, JSON from the kernel
 * @typedef {import("./quality.js").Grade} Grade
 * @typedef {import("./stats.js").PeerStats} PeerStats
 * @typedef {import("./snapshot.js").ConferenceSnapshot} ConferenceSnapshot
 *
 * @typedef {Pick<Conference, "snapshot" | "addEventListener" | "removeEventListener" |
 *   "setCamera" | "setMicrophone" | "startScreenShare" | "stopScreenShare" | "leave" |
 *   "rejoin" | "enableAudio">} ConferenceView  all a view may use
 */

const NOTICE_MS = 8000;

export class Conference extends EventTarget {
  /** @type {ModelReader} */ #settings;
  /** @type {(patch: Record<string, unknown>) => void} */ #report;
  #instanceId = "";
  #room = "";
  #name = "";
  /** own peer id, "" until welcome */
  #id = "";
  /** @type {Status} */ #status = "connecting";
  /** why we are connecting/reconnecting, or the error */
  #detail = "";
  #error = "";
  #notice = "";
  /** @type {SignalingSession | null} */ #signaling = null;
  /** @type {LocalMedia} */ #media;
  /** @type {AudioSinks} */ #audio;
  /** @type {Mesh} */ #mesh;
  /** @type {(() => void) | null} stops the stats and speaker loops */
  #stopMeters = null;
  /** @type {Record<string, PeerStats>} the last sample, by peer id */
  #stats = {};
  /** @type {ReadonlyMap<string, Grade>} each link's quality, by peer id */
  #grades = new Map();
  /** peer id of the tile to highlight as speaking (ours too), "" for nobody */
  #speaker = "";
  #closed = false;
  /** between join() and the socket: media is being asked for */
  #joining = false;
  /** a screen picker is open: a second click must not open another */
  #screenPending = false;
  #changeQueued = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #noticeTimer;

  /**
   * @param {ModelReader} settings  the widget model (room, name, signaling_url, token, ...)
   * @param {(patch: Record<string, unknown>) => void} report  writes browser-side traits
   */
  constructor(settings, report) {
    super();
    this.#settings = settings;
    this.#report = report;
    this.#instanceId = String(settings.get("instance_id"));
    this.#media = new LocalMedia({
      camera: Boolean(settings.get("camera")),
      microphone: Boolean(settings.get("microphone")),
    });
    this.#audio = new AudioSinks(() => this.#changed());
    this.#mesh = new Mesh({
      send: (to, data) => this.#signaling?.send(signalMessage(to, data)),
      media: this.#media,
      audio: this.#audio,
      onChange: () => this.#changed(),
      onProblem: (message) => this.#showNotice(message),
    });
  }

  // -- reading the call (views read snapshot(); the rest is for the bridge and tests) --

  /** Everything a view shows, as of now. */
  snapshot() {
    const media = this.#media;
    const local = media.state();
    /** @type {ConferenceSnapshot} */
    const snapshot = {
      instanceId: this.#instanceId,
      room: this.#room,
      status: this.#status,
      detail: this.#detail,
      error: this.#error,
      notice: this.#notice,
      mediaError: media.error,
      inCall: this.#inCall(),
      wanted: Object.freeze({ camera: media.camera, microphone: media.microphone }),
      local: Object.freeze({
        id: this.#id,
        name: this.#name,
        ...local,
        preview: local.camera ? media.preview : null,
      }),
      peers: Object.freeze(this.#mesh.roster().map((record) => Object.freeze(record))),
      speaker: this.#speaker,
      grades: this.#grades,
      audioBlocked: this.#audio.blocked,
    };
    return Object.freeze(snapshot);
  }

  get instanceId() {
    return this.#instanceId;
  }

  get status() {
    return this.#status;
  }

  /** Our peer id, "" until joined. */
  get id() {
    return this.#id;
  }

  /** The links to the remote peers, by peer id; tests read each one's RTCPeerConnection. */
  get peers() {
    return this.#mesh.peers;
  }

  /** Our microphone and camera, as sent. */
  get localStream() {
    return this.#media.stream;
  }

  /** The last stats sample, by peer id, as reported to the kernel. */
  get stats() {
    return this.#stats;
  }

  /** The remote voices' <audio> elements (tests check that they play). */
  get audio() {
    return this.#audio;
  }

  /** The signaling session while in a call; tests go through its testHook only. */
  get signaling() {
    return this.#signaling;
  }

  // -- actions (buttons, Python) ----------------------------------------------------

  /** Acquire media, then join; progress shows in `status`. Never rejects. */
  async join() {
    if (this.#closed || this.#inCall() || this.#joining) return;
    this.#joining = true;
    try {
      await this.#connect();
    } finally {
      this.#joining = false;
    }
  }

  /** @param {boolean} on */
  async setCamera(on) {
    const problem = await this.#media.setCamera(on);
    this.#afterLocalChange(problem);
  }

  /** @param {boolean} on */
  async setMicrophone(on) {
    const problem = await this.#media.setMicrophone(on);
    this.#afterLocalChange(problem);
  }

  async startScreenShare() {
    const busy = this.#media.screen || this.#screenPending;
    if (busy || this.#status === "left" || this.#closed) return;
    /** @type {MediaStream} */
    let screen;
    this.#screenPending = true;
    try {
      screen = await this.#media.startScreen(() => this.stopScreenShare());
    } catch (error) {
      this.#showNotice(error instanceof Error ? error.message : String(error));
      return;
    } finally {
      this.#screenPending = false;
    }
    this.#mesh.setScreen(screen);
    this.#afterLocalChange("");
  }

  stopScreenShare() {
    if (!this.#media.screen) return;
    this.#media.stopScreen();
    this.#mesh.setScreen(null);
    this.#afterLocalChange("");
  }

  enableAudio() {
    this.#audio.resume();
  }

  /** Leave the room (the widget stays and can join again). */
  leave() {
    if (this.#status === "left") return;
    this.#hangUp();
    this.#setStatus("left", "");
  }

  /** Join again after leaving or an error (or retry at once while the server is away). */
  rejoin() {
    if (this.#closed) return;
    if (this.#signaling) this.#signaling.retryNow();
    else void this.join();
  }

  /** The model is gone: leave and release everything for good. */
  close() {
    if (this.#closed) return;
    this.leave();
    this.#closed = true;
    clearTimeout(this.#noticeTimer);
  }

  // -- the call ---------------------------------------------------------------------

  async #connect() {
    this.#room = String(this.#settings.get("room"));
    this.#name = String(this.#settings.get("name") || "guest");
    this.#error = "";
    this.#setStatus("connecting", "Asking for camera and microphone…");
    await this.#media.start();
    if (this.#closed || this.#status !== "connecting") return;
    const target = discoverSignalingUrl(
      String(this.#settings.get("signaling_url") || ""),
      String(this.#settings.get("token") || ""),
    );
    if ("error" in target) {
      this.#fail(target.error);
      return;
    }
    this.#signaling = new SignalingSession(target, {
      joinMessage: (resume) => joinMessage(this.#room, this.#name, this.#media.state(), resume),
      onWelcome: (welcome) => this.#onWelcome(welcome),
      onFrame: (frame) => this.#onFrame(frame),
      onStatus: (status, reason) => {
        this.#setStatus(status, reason || "Joining…");
        if (status === "error") this.#error = reason;
      },
      onFatal: (reason) => this.#fail(reason),
    });
    this.#signaling.connect();
    this.#stopMeters = startMeters(
      {
        links: () => this.#mesh.peers,
        intervalSeconds: () => Number(this.#settings.get("stats_interval")) || 1,
        selfId: () => this.#id,
        microphoneOn: () => this.#media.state().microphone,
      },
      {
        onStats: (stats) => {
          this.#stats = stats;
          this.#report({ stats });
        },
        onGrades: (grades) => {
          this.#grades = grades;
          this.#changed();
        },
        onSpeaker: (speakerId) => {
          this.#speaker = speakerId;
          this.#changed();
        },
      },
    );
  }

  /** @param {import("./protocol.js").WelcomeFrame} welcome */
  #onWelcome(welcome) {
    const others = welcome.peers;
    if (welcome.resumed) {
      this.#mesh.reconcile(others);
      this.#signaling?.send(stateMessage(this.#media.state()));
    } else {
      // First join, or back after the server's grace window: a new peer, every link anew.
      this.#id = welcome.id;
      this.#mesh.reset(welcome.id, welcome.ice_servers, others);
    }
    this.#setStatus("joined", "");
  }

  /** @param {import("./signaling.js").RoomFrame} frame */
  #onFrame(frame) {
    switch (frame.type) {
      case SERVER.PEER_JOINED:
        if (!this.#mesh.peers.has(frame.peer.id)) this.#mesh.add(frame.peer, true);
        break;
      case SERVER.PEER_LEFT:
        this.#mesh.drop(frame.id);
        break;
      case SERVER.PEER_STATE:
        this.#mesh.updateState(frame.id, frame.state);
        break;
      case SERVER.SIGNAL:
        this.#mesh.signal(frame.from, frame.data);
        break;
      case SERVER.ERROR:
        this.#onServerError(frame);
        break;
    }
  }

  /**
   * An error once joined (join refusals are the signaling session's): say it, unless it
   * is an expected race.
   * @param {import("./protocol.js").ErrorFrame} frame
   */
  #onServerError(frame) {
    const text = describeError(frame);
    // Our last signals to someone who has just left crossed their peer-left: expected.
    // Only an error naming a peer we still have is news (older servers name nobody).
    const stillHere = frame.peer !== undefined && this.#mesh.peers.has(frame.peer);
    if (frame.code === "unknown-peer" && !stillHere) {
      console.info("nbconference:", text);
      return;
    }
    console.warn("nbconference:", text);
    this.#showNotice(text);
  }

  /** @param {string} problem  a readable reason a device could not be used, or "" */
  #afterLocalChange(problem) {
    if (problem) this.#showNotice(problem);
    this.#mesh.applyLocalMedia();
    this.#signaling?.send(stateMessage(this.#media.state()));
    this.#changed();
  }

  /** @param {string} message */
  #showNotice(message) {
    this.#notice = message;
    clearTimeout(this.#noticeTimer);
    this.#noticeTimer = setTimeout(() => {
      this.#notice = "";
      this.#changed();
    }, NOTICE_MS);
    this.#changed();
  }

  /** @param {Status} status @param {string} detail */
  #setStatus(status, detail) {
    this.#status = status;
    this.#detail = detail;
    if (status !== "error") this.#error = "";
    this.#changed();
  }

  /** @param {string} reason */
  #fail(reason) {
    this.#hangUp();
    this.#error = reason;
    this.#setStatus("error", reason);
  }

  /** In a call or trying to get into one: media is (being) held. */
  #inCall() {
    return this.#signaling !== null || this.#media.started;
  }

  #hangUp() {
    this.#signaling?.leave();
    this.#signaling = null;
    this.#stopMeters?.();
    this.#stopMeters = null;
    this.#speaker = "";
    this.#grades = new Map();
    this.#mesh.clear();
    this.#audio.close();
    this.#media.stop();
    this.#id = "";
    this.#stats = {};
    this.#report({ stats: {} });
  }

  /** Coalesce the changes of one task into one view update and one trait write. */
  #changed() {
    if (this.#changeQueued) return;
    this.#changeQueued = true;
    queueMicrotask(() => {
      this.#changeQueued = false;
      this.#report(traitsOf(this.snapshot()));
      this.dispatchEvent(new Event("change"));
    });
  }
}
