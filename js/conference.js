// @ts-check
// One widget model's call: signaling, one PeerLink per remote peer, local media, stats.
// Its state is private: views render snapshot() on every "change" event and call its
// actions; the kernel hears of it through the `report` callback.
import { AudioSinks } from "./audio.js";
import { CallDevices } from "./call-devices.js";
import { CallLock } from "./call-lock.js";
import { DeviceConsent } from "./consent.js";
import { Checkup } from "./diagnose.js";
import { SIGNALING_NOT_MEASURED } from "./diagnosis.js";
import { Hosting } from "./hosting.js";
import { LocalMedia } from "./local-media.js";
import { startMeters } from "./meters.js";
import { labColor, personOf, unverified } from "./people.js";
import { MediaPlanes } from "./planes.js";
import {
  SERVER,
  SFU_SERVER,
  describeError,
  joinMessage,
  signalMessage,
  stateMessage,
} from "./protocol.js";
import { splitRecorders } from "./recording-banner.js";
import { SignalingLine } from "./signaling-line.js";
import { Talk } from "./talk.js";
import { TEST_HOOKS } from "./test-hooks.js";
import { viewerRecordOf } from "./snapshot.js";
import { Timeline } from "./timeline.js";

/**
 * @typedef {import("./snapshot.js").Status} Status
 * @typedef {{ get(name: string): unknown }} ModelReader  trait values, JSON from the kernel
 * @typedef {import("./quality.js").Grade} Grade
 * @typedef {import("./stats.js").PeerStats} PeerStats
 * @typedef {import("./snapshot.js").ConferenceSnapshot} ConferenceSnapshot
 *
 * @typedef {import("./people.js").Person} Person
 * @typedef {import("./signaling.js").SignalingInfo} SignalingInfo
 * @typedef {"camera" | "microphone"} Device
 *
 * @typedef {import("./protocol.js").Shown} Shown
 *
 * @typedef {Pick<Conference, "snapshot" | "addEventListener" | "removeEventListener" |
 *   "setCamera" | "setMicrophone" | "startScreenShare" | "stopScreenShare" | "leave" |
 *   "rejoin" | "joinHere" | "answerRequest" | "enableAudio" | "setReceiveVideo" |
 *   "showing" | "sendChat" | "raiseHand" | "lowerHand" | "finishPrejoin" | "chooseDevice" |
 *   "answerDeviceRequest" | "diagnose" | "mute" | "remove" | "endCall" | "makeHost" |
 *   "setLocked" | "admit" | "deny" | "breakout" | "endBreakout" | "visit">} ConferenceView
 *   all a view may use
 *
 * @typedef {object} Reporter  how the kernel hears of this browser's part in the call
 * @property {(record: import("./snapshot.js").ViewerRecord | null) => void} state  our
 *   record after each change; null while this browser is not in the call (nothing shown
 *   yet, or the call is open in another tab)
 * @property {(stats: Record<string, PeerStats>) => void} stats  every stats sample
 * @property {(peerId: string) => void} viewerLeft  another browser viewing this very
 *   widget left the room (its tab may be gone without a word to the kernel)
 * @property {(report: import("./diagnosis.js").Diagnosis) => void} diagnosis  a
 *   connection check this browser finished (diagnose.js)
 * @property {(message: import("./protocol.js").ChatFrame) => void} chat  a chat message,
 *   the first time this browser sees its id (the kernel drops the other viewers' copies)
 */

const NOTICE_MS = 8000;
/** The server's frame that moves the room to another media plane (SERVER.MEDIA). */
const MEDIA_FRAME = "media";
/** What we ask of a peer we show nothing of. */
const NOTHING = Object.freeze({ camera: 0, screen: 0 });

export class Conference extends EventTarget {
  /** @type {ModelReader} */ #settings;
  /** @type {Reporter} */ #report;
  #instanceId = "";
  #room = "";
  #name = "";
  /** own peer id, "" until welcome */
  #id = "";
  /** @type {Status} */ #status = "idle";
  /** who we are, as the server stamped us (a label until it has) */
  /** @type {Person} */ #self;
  /** @type {CallLock | null} held while we are in the call: one per browser */
  #lock = null;
  /** this browser is in the call in another tab or widget: we offer "Join here" */
  #elsewhere = false;
  /** @type {DeviceConsent} who may turn our devices on: the person, or code (consent.js) */
  #consent;
  /** @type {SignalingLine} where we join, signing in, and the session (signaling-line.js) */
  #line;
  /** why we are connecting/reconnecting, or the error */
  #detail = "";
  #error = "";
  #notice = "";
  /** @type {LocalMedia} */ #media;
  /** @type {AudioSinks} */ #audio;
  /** @type {MediaPlanes} the mesh and the SFU, one of which carries the call */ #planes;
  /** @type {(() => void) | null} stops the stats and speaker loops */
  #stopMeters = null;
  /** @type {Record<string, PeerStats>} the last sample, by peer id */
  #stats = {};
  /** @type {ReadonlyMap<string, Grade>} each link's quality, by peer id */
  #grades = new Map();
  /** peer id of the tile to highlight as speaking (ours too), "" for nobody */
  #speaker = "";
  /** the others' video is wanted here ("video off for me" when false): audio only */
  #receiveVideo = true;
  /** @type {ReadonlyMap<string, Shown>} how large this page's views show each peer */
  #shown = new Map();
  #closed = false;
  /** between join() and the socket: media is being asked for */
  #joining = false;
  /** a screen picker is open: a second click must not open another */
  #screenPending = false;
  #changeQueued = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #noticeTimer;
  /** the chat and our raised hand (talk.js) */
  #talk = new Talk({
    send: (frame) => this.#signaling?.send(frame),
    joined: () => this.#signaling !== null && this.#status === "joined",
    selfId: () => this.#id,
    nameOf: (id) =>
      id === this.#id ? this.#self.name : this.#planes.person(id)?.name || "someone",
    sayState: () => this.#signaling?.send(stateMessage(this.#presence())),
    reportChat: (frame) => this.#report.chat(frame),
    changed: () => this.#changed(),
  });
  /** when each step of joining happened (timeline.js) */
  #timeline = new Timeline(() => this.#changed());
  /** which camera, microphone and speaker, and the pre-join panel (call-devices.js) */
  #devices = new CallDevices(() => this.#changed());
  /** the connection check (w.diagnose(), the ⓘ panel; diagnose.js) */
  #checkup = new Checkup(
    () => ({
      ping: () => this.#signaling?.ping() ?? Promise.resolve({ error: SIGNALING_NOT_MEASURED }),
      iceServers: this.#planes.mesh.ice.iceServers ?? [],
      stats: () => this.#stats,
      peers: () => this.#planes.roster(),
      devices: this.#devices.snapshot().report,
    }),
    (report) => this.#report.diagnosis(report),
    () => this.#changed(),
  );
  /** @type {Hosting} the hosts, a host's powers, the lobby and breakouts (hosting.js) */
  #hosting;

  /** The signaling session while in a call (or trying to be), else null. */
  get #signaling() {
    return this.#line.session;
  }

  /**
   * @param {ModelReader} settings  the widget model (room, name, signaling_url, token, ...)
   * @param {Reporter} report  tells the kernel
   */
  constructor(settings, report) {
    super();
    this.#settings = settings;
    this.#report = report;
    this.#instanceId = String(settings.get("instance_id"));
    const camera = Boolean(settings.get("camera"));
    const microphone = Boolean(settings.get("microphone"));
    this.#media = new LocalMedia({ camera, microphone }, this.#devices.devices);
    this.#consent = new DeviceConsent({ camera, microphone });
    this.#hosting = new Hosting({
      send: (frame) => this.#signaling?.send(frame),
      selfId: () => this.#id,
      consent: this.#consent,
      media: this.#media,
      afterLocalChange: (problem) => this.#afterLocalChange(problem),
      moved: (room) => {
        this.#room = room;
        this.#talk.moved(); // a raised hand stays in the room it was raised in
      },
      changed: () => this.#changed(),
    });
    this.#line = new SignalingLine({
      signalingUrl: () => String(this.#settings.get("signaling_url") || ""),
      connecting: () => !this.#closed && this.#status === "connecting",
      setStatus: (status, detail) => this.#setStatus(status, detail),
      setError: (reason) => {
        this.#error = reason;
      },
      fail: (reason) => this.#fail(reason),
      room: () => {
        const about = { widget: this.#instanceId, color: this.#self.color };
        return {
          joinMessage: (resume) =>
            joinMessage(this.#room, this.#name, this.#presence(), resume, about),
          onWelcome: (welcome) => this.#onWelcome(welcome),
          // The room is locked: the lobby shows nothing of it but our own preview.
          onWaiting: () => this.#setStatus("waiting", ""),
          onFrame: (frame) => this.#onFrame(frame),
          onIce: (ice) => this.#planes.configureIce(ice),
        };
      },
    });
    this.#self = unverified(String(settings.get("name") || ""), labColor());
    this.#receiveVideo = settings.get("receive_video") !== false;
    this.#audio = new AudioSinks(() => this.#changed());
    // The kernel's clock when it ran the cell (epoch seconds): the timeline's first step.
    const created = Number(settings.get("created_at"));
    if (created > 0) this.#timeline.mark("cell", created * 1000);
    this.#planes = new MediaPlanes({
      send: (to, data) => this.#signaling?.send(signalMessage(to, data)),
      sendFrame: (frame) => this.#signaling?.send(/** @type {{ type: string }} */ (frame)),
      media: this.#media,
      audio: this.#audio,
      onChange: () => this.#changed(),
      onProblem: (message) => this.#showNotice(message),
      shown: (id) => (this.#receiveVideo ? (this.#shown.get(id) ?? NOTHING) : NOTHING),
      onPhase: (phase) => {
        this.#timeline.mark(phase);
        if (phase === "ice") this.#timeline.watchFirstFrame(() => this.#planes.links().values());
      },
    });
    this.#devices.connect({
      media: this.#media,
      audio: this.#audio,
      prejoin: () => settings.get("prejoin") !== false,
      call: () => this.#callKey(),
      enter: () => this.#enter(false),
      afterLocalChange: (problem) => this.#afterLocalChange(problem),
      showNotice: (message) => this.#showNotice(message),
      changed: () => this.#changed(),
    });
  }

  // -- reading the call (views read snapshot(); the rest is for the bridge and tests) --

  /** Everything a view shows, as of now. */
  snapshot() {
    const media = this.#media;
    const local = media.state();
    // Recorders are shown in the recording banner, not as tiles (recording-banner.js).
    const { people, recorders } = splitRecorders(this.#planes.roster());
    const hosting = this.#hosting.snapshot();
    const talk = this.#talk.snapshot();
    /** @type {ConferenceSnapshot} */
    const snapshot = {
      instanceId: this.#instanceId,
      // In a breakout group, the call is still the main room's.
      room: hosting.breakout?.main || this.#room || String(this.#settings.get("room")),
      label: String(this.#settings.get("room_label") || ""),
      status: this.#status,
      elsewhere: this.#elsewhere,
      requests: this.#consent.requests(),
      detail: this.#detail,
      error: this.#error,
      notice: this.#notice,
      mediaError: media.error,
      inCall: this.#inCall(),
      localSignaling: this.#line.local,
      hubSignaling: this.#line.hub,
      wanted: Object.freeze({ camera: media.camera, microphone: media.microphone }),
      local: Object.freeze({
        ...this.#self,
        id: this.#id,
        ...local,
        hand: this.#talk.handStamp,
        host: this.#hosting.isHost(this.#id),
        preview: local.camera ? media.preview : null,
      }),
      peers: Object.freeze(
        people.map((record) => Object.freeze({ ...record, host: this.#hosting.isHost(record.id) })),
      ),
      hostMute: hosting.hostMute,
      lobby: hosting.lobby,
      breakout: hosting.breakout,
      recorders: Object.freeze(recorders.map((record) => Object.freeze(record))),
      speaker: this.#speaker,
      receiveVideo: this.#receiveVideo,
      grades: this.#grades,
      audioBlocked: this.#audio.blocked,
      chat: talk.chat,
      handNote: talk.handNote,
      timeline: this.#timeline.record(),
      media: this.#id ? this.#planes.plane : "",
      sfuAway: this.#planes.plane === "sfu" && this.#planes.sfu.away,
      prejoin: this.#devices.prejoinSnapshot(),
      devices: this.#devices.snapshot(),
      deviceRequest: this.#devices.request,
      diagnosis: this.#checkup.snapshot(),
    };
    return Object.freeze(snapshot);
  }

  // Read-only views of the call for browser tests, defined only on a page that opted in
  // (test-hooks.js); views and the kernel read snapshot() instead.
  static {
    if (TEST_HOOKS) {
      /** @type {Record<string, (conference: Conference) => unknown>} */
      const getters = {
        instanceId: (c) => c.#instanceId,
        status: (c) => c.#status,
        /** our peer id, "" until joined */
        id: (c) => c.#id,
        /** each remote peer's media, by peer id: its mesh link or its SFU feed (a
         * MediaLink: the RTCPeerConnection that carries it, and the mids that are its) */
        peers: (c) => c.#planes.links(),
        /** which plane carries the call: "mesh" or "sfu" */
        plane: (c) => c.#planes.plane,
        /** the SFU plane (its publisher and subscriber connections) */
        sfu: (c) => c.#planes.sfu,
        /** our microphone and camera, as sent */
        localStream: (c) => c.#media.stream,
        /** the last stats sample, by peer id, as reported to the kernel */
        stats: (c) => c.#stats,
        /** the remote voices' <audio> elements */
        audio: (c) => c.#audio,
        /** the signaling session while in a call (its testHook) */
        signaling: (c) => c.#signaling,
      };
      for (const [name, read] of Object.entries(getters)) {
        Object.defineProperty(this.prototype, name, {
          /** @this {Conference} */
          get() {
            return read(this);
          },
          configurable: true,
        });
      }
    }
  }

  // -- actions (buttons, Python) ----------------------------------------------------

  /** The first view of the widget is on screen: a step of the timeline. */
  rendered() {
    this.#timeline.mark("rendered");
  }

  /**
   * Acquire media, then join; progress shows in `status`. Never rejects. Only a view of
   * the widget calls it: nothing is asked of the camera before the widget is on screen.
   * When this browser is in the call already (another tab, another widget of the same
   * room) it offers "Join here" instead: one person, one microphone.
   */
  async join() {
    // Before the first join, the pre-join panel waits for the person's click.
    if (this.#devices.prejoinOpen || (!this.#inCall() && this.#devices.needsPrejoin())) {
      if (!this.#closed && !this.#devices.prejoinOpen) this.#devices.openPrejoin();
      return;
    }
    await this.#enter(false);
  }

  /** Move the call here from the other tab or widget of this browser that has it. */
  async joinHere() {
    await this.#enter(true);
  }

  /** @param {boolean} takeOver */
  async #enter(takeOver) {
    if (this.#closed || this.#inCall() || this.#joining) return;
    this.#joining = true;
    try {
      // One call per browser: the same room on the same signaling, from any tab.
      // The lock names the call: another room or server is another call.
      const call = this.#callKey();
      if (this.#lock?.call !== call) {
        this.#lock?.free();
        this.#lock = new CallLock(call, { onTakenAway: () => this.#takenAway() });
      }
      const held = takeOver ? await this.#lock.takeOver() : await this.#lock.acquire();
      if (this.#closed) {
        this.#lock.free();
        return;
      }
      this.#elsewhere = !held;
      if (!held) {
        this.#setStatus("idle", "");
        return;
      }
      await this.#connect();
    } finally {
      this.#joining = false;
    }
  }

  /** The call's name: this page's origin, the signaling server and the room. */
  #callKey() {
    const server = String(this.#settings.get("signaling_url") || "");
    const room = String(this.#settings.get("room"));
    return `${globalThis.location?.origin ?? ""}|${server}|${room}`;
  }

  // -- devices and the pre-join panel (call-devices.js) ------------------------------

  /** The person's click on the pre-join panel. @param {{ camera: boolean, microphone: boolean }} choice */
  async finishPrejoin(choice) {
    // The person's own choice from now on.
    this.#consent.byPerson("camera");
    this.#consent.byPerson("microphone");
    await this.#devices.finishPrejoin(choice);
  }

  /** @param {import("./devices.js").DeviceKind} kind @param {string} deviceId */
  async chooseDevice(kind, deviceId) {
    await this.#devices.choose(kind, deviceId);
  }

  /** The notebook's code asks for a camera (`w.camera_device`). @param {string} text */
  async requestCameraFromCode(text) {
    await this.#devices.requestCamera(text);
  }

  /** @param {boolean} accept */
  async answerDeviceRequest(accept) {
    await this.#devices.answerRequest(accept);
  }

  #takenAway() {
    this.leave();
    this.#elsewhere = true;
    this.#setStatus("idle", "");
  }

  /**
   * The kernel's word on where to join: its own plan (this page's Jupyter server, or a
   * local stand-in when that has no endpoint), or the token for `signaling_url`. Before
   * the call is up, a new word moves it to the new target.
   * @param {SignalingInfo} info
   */
  setSignaling(info) {
    const settled = ["joined", "reconnecting", "waiting"].includes(this.#status);
    this.#line.heard(info, settled);
    this.#changed();
  }

  /** The person turns their camera on or off. @param {boolean} on */
  async setCamera(on) {
    this.#consent.byPerson("camera");
    if (on) this.#hosting.unmuted("camera");
    await this.#setDevice("camera", on);
  }

  /** The person mutes or unmutes (after a host's mute too: only they may). @param {boolean} on */
  async setMicrophone(on) {
    this.#consent.byPerson("microphone");
    if (on) this.#hosting.unmuted("microphone");
    await this.#setDevice("microphone", on);
  }

  /**
   * The notebook's code asks for a device on or off (`w.camera = ...` in the kernel).
   * Off is done at once, like a host's mute. On is done only for a device that code
   * turned off; one the person turned off is never turned on by code: they are asked.
   * @param {Device} device @param {boolean} on
   */
  async requestFromCode(device, on) {
    const next = this.#consent.byCode(device, on, this.#media[device]);
    if (next !== null) await this.#setDevice(device, next);
    this.#changed();
  }

  /**
   * The person's answer to the notebook's request to turn a device on.
   * @param {Device} device @param {boolean} accept
   */
  async answerRequest(device, accept) {
    this.#consent.answered(device);
    if (accept) this.#hosting.unmuted(device);
    if (accept) await this.#setDevice(device, true);
    this.#changed();
  }

  /** @param {Device} device @param {boolean} on */
  async #setDevice(device, on) {
    const problem =
      device === "camera"
        ? await this.#media.setCamera(on)
        : await this.#media.setMicrophone(on);
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
    this.#planes.setScreen(screen);
    this.#afterLocalChange("");
  }

  stopScreenShare() {
    if (!this.#media.screen) return;
    this.#media.stopScreen();
    this.#planes.setScreen(null);
    this.#afterLocalChange("");
  }

  enableAudio() {
    this.#audio.resume();
  }

  /**
   * "Video off for me" (false): every peer stops sending us video, and we hear them
   * only; true brings the video back. The person's button and the kernel's
   * `receive_video` both call it; it is this browser's own choice.
   * @param {boolean} on
   */
  setReceiveVideo(on) {
    if (on === this.#receiveVideo) return;
    this.#receiveVideo = on;
    this.#planes.updateWants();
    this.#changed();
  }

  /**
   * The views say how large they show each peer (sight.js); we ask each peer for that.
   * @param {ReadonlyMap<string, Shown>} shown  by peer id; a peer not in it is not shown
   */
  showing(shown) {
    this.#shown = shown;
    this.#planes.updateWants();
  }

  // -- the connection check (w.diagnose(), the ⓘ panel) --------------------------------

  /**
   * Check this browser's connection (diagnose.js) and tell the kernel; a check asked for
   * while one runs is that one.
   * @returns {Promise<import("./diagnosis.js").Diagnosis>}
   */
  diagnose() {
    return this.#checkup.run();
  }

  // -- chat and raised hands ----------------------------------------------------------

  /**
   * Post `text` to the room's chat; false when we are not in the room now (the server
   * answers a refused message with an error, shown as a notice).
   * @param {string} text @param {boolean} [fromCode]  the notebook's code posts it
   */
  sendChat(text, fromCode = false) {
    return this.#talk.sendChat(text, fromCode);
  }

  /** Raise or lower our own hand. @param {boolean} up */
  raiseHand(up) {
    this.#talk.raiseHand(up);
  }

  /** Lower anyone's raised hand (ours too); the room hears we did. @param {string} peerId */
  lowerHand(peerId) {
    this.#talk.lowerHand(peerId);
  }

  // -- a host's powers (hosting.js; the server refuses them to anyone else) ----------

  /** @param {string} peerId @param {{ microphone?: boolean, camera?: boolean }} [devices] */
  mute(peerId, devices) {
    this.#hosting.mute(peerId, devices);
  }

  /** @param {string} peerId @param {number} [banMinutes] */
  remove(peerId, banMinutes) {
    this.#hosting.remove(peerId, banMinutes);
  }

  endCall() {
    this.#hosting.endCall();
  }

  /** @param {string} peerId */
  makeHost(peerId) {
    this.#hosting.makeHost(peerId);
  }

  /** @param {boolean} locked */
  setLocked(locked) {
    this.#hosting.setLocked(locked);
  }

  /** @param {string} peerId */
  admit(peerId) {
    this.#hosting.admit(peerId);
  }

  /** @param {string} peerId */
  deny(peerId) {
    this.#hosting.deny(peerId);
  }

  /**
   * @param {{ groups?: Record<string, string[]>, n_groups?: number }} split
   * @param {number} [minutes]
   */
  breakout(split, minutes) {
    this.#hosting.breakout(split, minutes);
  }

  endBreakout() {
    this.#hosting.endBreakout();
  }

  /** @param {string} group */
  visit(group) {
    this.#hosting.visit(group);
  }

  /**
   * Whether we play a peer's voice: not while its state says its microphone is off (a
   * host's mute holds that state until the person unmutes).
   * @param {string} id @param {Partial<import("./protocol.js").PeerState>} state
   */
  #hear(id, state) {
    if (typeof state.microphone === "boolean") this.#audio.silence(id, !state.microphone);
  }

  /** What our `state` says: devices and hand. */
  #presence() {
    return { ...this.#media.state(), hand: this.#talk.hand };
  }

  /** Leave the room (the widget stays and can join again). */
  leave() {
    this.#devices.closePrejoin();
    if (this.#status === "left" || this.#status === "idle") return;
    this.#hangUp();
    this.#setStatus("left", "");
  }

  /** Join again after leaving or an error (or retry at once while the server is away). */
  rejoin() {
    if (this.#closed) return;
    if (this.#signaling) this.#signaling.retryNow();
    else void this.join();
  }

  /**
   * Leave because no view shows the widget any more: back to idle, as before any view.
   */
  stand() {
    this.#devices.closePrejoin();
    if (this.#status === "idle") return;
    this.#hangUp();
    this.#setStatus("idle", "");
  }

  /** The model is gone: leave and release everything for good. */
  close() {
    if (this.#closed) return;
    this.leave();
    this.#closed = true;
    this.#devices.close();
    this.#lock?.free();
    clearTimeout(this.#noticeTimer);
    this.#talk.close();
  }

  // -- the call ---------------------------------------------------------------------

  async #connect() {
    this.#room = String(this.#settings.get("room"));
    this.#name = String(this.#settings.get("name") || "guest");
    this.#self = unverified(this.#name, labColor());
    this.#error = "";
    this.#elsewhere = false;
    this.#timeline.restart();
    const target = await this.#line.reach();
    if (!target) return;
    // Known as soon as the lock is ours (with no signaling_url: this page's own server).
    this.#timeline.mark("target");
    // Join at once, receive-only until the camera and microphone are up: the others are
    // seen and heard while the browser still asks for the devices. A later word of the
    // kernel (a local stand-in) moves the socket (setSignaling).
    this.#setStatus("connecting", "Joining…");
    void this.#startMedia();
    this.#line.open(target);
    this.#stopMeters = startMeters(
      {
        links: () => this.#planes.links(),
        ownVoice: () => this.#planes.ownVoice(),
        intervalSeconds: () => Number(this.#settings.get("stats_interval")) || 1,
        selfId: () => this.#id,
        microphoneOn: () => this.#media.state().microphone,
      },
      {
        onStats: (stats) => {
          this.#stats = stats;
          this.#report.stats(stats);
        },
        onGrades: (grades) => {
          this.#grades = grades;
          this.#changed();
        },
        onSpeaker: (speakerId) => {
          this.#speaker = speakerId;
          // The active speaker's links may send a larger picture.
          this.#planes.setSpeaking(speakerId !== "" && speakerId === this.#id);
          this.#changed();
        },
      },
    );
  }

  /**
   * Camera and microphone, while the call goes on without them. The links' main
   * transceivers are negotiated sendrecv from the start with no track (peer.js), so the
   * tracks go onto them with replaceTrack, and no new offer is needed.
   */
  async #startMedia() {
    if (!(await this.#media.start())) return; // hung up meanwhile: nothing was kept
    if (this.#closed) return;
    this.#timeline.mark("media");
    this.#devices.mediaStarted();
    this.#afterLocalChange("");
  }

  /** @param {import("./protocol.js").WelcomeFrame} welcome */
  #onWelcome(welcome) {
    const others = welcome.peers;
    // The plane the room uses now: the server decides (a server before the SFU says none).
    const plane = /** @type {{ media?: unknown }} */ (welcome).media === "sfu" ? "sfu" : "mesh";
    if (welcome.resumed) {
      this.#planes.reconcile(others, plane);
      this.#signaling?.send(stateMessage(this.#presence()));
    } else {
      // First join, or back after the server's grace window: a new peer, every link anew.
      this.#id = welcome.id;
      this.#planes.reset(welcome.id, others, plane);
      // Let in from the lobby: what we said there was kept; say what changed since.
      if (this.#status === "waiting") this.#signaling?.send(stateMessage(this.#presence()));
    }
    if (welcome.peer) this.#self = personOf(welcome.peer);
    this.#hosting.welcomed(welcome);
    for (const peer of others) this.#hear(peer.id, peer.state);
    this.#talk.welcomed(welcome);
    this.#timeline.mark("welcome");
    this.#devices.joined();
    this.#setStatus("joined", "");
  }

  /** @param {import("./signaling.js").RoomFrame} frame */
  #onFrame(frame) {
    const moved = /** @type {{ type: string, media?: unknown }} */ (frame);
    if (moved.type === MEDIA_FRAME) {
      // The room moved to the SFU: make before break, nobody clicks anything.
      if (moved.media === "sfu") this.#planes.move();
      return;
    }
    if (this.#hosting.heard(frame)) return;
    switch (frame.type) {
      case SERVER.PEER_JOINED:
        this.#hosting.joined(frame.peer);
        this.#hear(frame.peer.id, frame.peer.state);
        this.#planes.joined(frame.peer);
        break;
      case SERVER.PEER_LEFT:
        if (this.#planes.person(frame.id)?.widget === this.#instanceId) {
          this.#report.viewerLeft(frame.id);
        }
        this.#hosting.left(frame.id);
        this.#audio.silence(frame.id, false);
        this.#planes.drop(frame.id);
        break;
      case SFU_SERVER.ANSWER:
      case SFU_SERVER.OFFER:
      case SFU_SERVER.FEEDS:
      case SFU_SERVER.TRICKLE:
        this.#planes.sfuFrame(frame);
        break;
      case SERVER.PEER_STATE:
        if (frame.id === this.#id) {
          this.#talk.ownState(frame);
          break;
        }
        this.#talk.noteHand(frame);
        this.#hear(frame.id, frame.state);
        this.#planes.updateState(frame.id, frame.state);
        break;
      case SERVER.CHAT:
        this.#talk.heardChat(frame);
        break;
      case SERVER.SIGNAL:
        this.#planes.signal(frame.from, frame.data);
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
    if (!this.#planes.heardError(frame)) {
      console.info("nbconference:", text);
      return;
    }
    console.warn("nbconference:", text);
    this.#showNotice(text);
  }

  /** @param {string} problem  a readable reason a device could not be used, or "" */
  #afterLocalChange(problem) {
    if (problem) this.#showNotice(problem);
    this.#planes.applyLocalMedia();
    this.#signaling?.send(stateMessage(this.#presence()));
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
    this.#devices.hungUp();
    this.#line.hangUp();
    this.#stopMeters?.();
    this.#stopMeters = null;
    this.#timeline.stop();
    this.#speaker = "";
    this.#planes.setSpeaking(false);
    this.#grades = new Map();
    this.#planes.clear();
    this.#audio.close();
    this.#media.stop();
    this.#lock?.free();
    this.#id = "";
    this.#talk.hungUp();
    this.#hosting.clear();
    this.#stats = {};
    this.#consent.clearRequests();
  }

  /** Coalesce the changes of one task into one view update and one trait write. */
  #changed() {
    if (this.#changeQueued) return;
    this.#changeQueued = true;
    queueMicrotask(() => {
      this.#changeQueued = false;
      const snapshot = this.snapshot();
      const idle = snapshot.status === "idle";
      this.#report.state(idle ? null : viewerRecordOf(snapshot));
      this.dispatchEvent(new Event("change"));
    });
  }
}

