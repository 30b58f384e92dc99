// @ts-check
// Our own microphone, camera and screen share, and what peers are told about them.
// Which camera and microphone: the person's choice (devices.js); switching one swaps the
// track here, and the conference puts the new track on every link with replaceTrack.
import { acquireCamera, acquireMicrophone, acquireScreen, acquireUserMedia } from "./media.js";

/**
 * @typedef {import("./peer.js").MediaSnapshot} MediaSnapshot
 * @typedef {import("./devices.js").Devices} Devices
 * @typedef {"audio" | "video"} Kind
 */

/** @type {Record<Kind, "microphone" | "camera">} */
const DEVICE_OF = { audio: "microphone", video: "camera" };

export class LocalMedia {
  /**
   * @param {{ camera: boolean, microphone: boolean }} wanted
   * @param {Devices | null} [devices]  the person's choices (none: the defaults)
   */
  constructor(wanted, devices = null) {
    this.devices = devices;
    /** tracks taken before joining (the pre-join panel's preview), handed to start() */
    /** @type {Record<Kind, MediaStreamTrack | null>} */
    this.warm = { audio: null, video: null };
    /** counts device switches per kind: a later switch wins over a slower earlier one */
    this.switches = { audio: 0, video: 0 };
    /** counts coolDown() calls: a warmUp overtaken by one lets its tracks go */
    this.warmRounds = 0;
    /** wanted by the user (trait or button); the track may still be missing */
    this.camera = wanted.camera;
    this.microphone = wanted.microphone;
    /** @type {MediaStreamTrack | null} */ this.audio = null;
    /** @type {MediaStreamTrack | null} */ this.video = null;
    this.canSendAudio = true;
    this.canSendVideo = true;
    /** the stream our main tracks are announced in (also `conference.localStream`) */
    this.stream = new MediaStream();
    /** camera only: the preview must never play our own microphone back */
    this.preview = new MediaStream();
    /** @type {MediaStream | null} */ this.screen = null;
    /** why the microphone / camera cannot be used, "" when it can */
    this.problems = { audio: "", video: "" };
    this.started = false;
    this.stopped = false;
    this.cameraRequest = 0;
    /** counts start() calls: a start overtaken by stop() and a new start() lets go */
    this.starts = 0;
  }

  /**
   * Acquire what is wanted. The microphone is taken even when muted, so unmute is instant.
   * The call does not wait for it: until it resolves, the links send nothing and
   * receive (see Conference), and a start that a stop() overtook lets its tracks go.
   * @returns {Promise<boolean>} false when overtaken: nothing was taken
   */
  async start() {
    this.stopped = false;
    const start = ++this.starts;
    const got = await this.acquireMissing();
    if (this.stopped || start !== this.starts) {
      got.audio?.stop();
      got.video?.stop();
      return false;
    }
    if (!this.camera && got.video) {
      // Turned off while the browser was still asking.
      got.video.stop();
      got.video = null;
    }
    this.problems = { audio: got.audioError, video: got.videoError };
    // A device that failed at the start is announced receive-only (recvonly m-line).
    this.canSendAudio = !got.audioError;
    this.canSendVideo = !got.videoError;
    this.setTrack("audio", got.audio);
    this.setTrack("video", got.video);
    if (got.videoError) this.camera = false;
    if (got.audioError) this.microphone = false;
    this.started = true;
    return true;
  }

  /**
   * What start() needs: the warm tracks of the pre-join panel where there are any, the
   * rest from the browser, on the chosen devices.
   * @returns {Promise<import("./media.js").Acquired>}
   */
  async acquireMissing() {
    if (!this.camera) this.warmVideo(null);
    const have = { ...this.warm };
    this.warm = { audio: null, video: null };
    const live = (/** @type {MediaStreamTrack | null} */ t) => t?.readyState === "live";
    const want = { audio: !live(have.audio), video: this.camera && !live(have.video) };
    const got = await acquireUserMedia(want, {
      audio: this.preferred("audio"),
      video: this.preferred("video"),
    });
    return {
      ...got,
      audio: want.audio ? got.audio : have.audio,
      video: want.video ? got.video : have.video,
    };
  }

  /** The deviceId to ask for, "" for the default. @param {Kind} kind */
  preferred(kind) {
    return this.devices?.preferred(DEVICE_OF[kind]) ?? "";
  }

  /**
   * Before joining: take the camera (when wanted) and the microphone for a preview and a
   * level meter; start() then uses them, so joining costs no second wait for devices.
   * Resolves to why a device could not be used ("" when both could).
   */
  async warmUp() {
    if (this.started) return "";
    const round = this.warmRounds;
    const want = {
      audio: this.warm.audio === null,
      video: this.camera && this.warm.video === null,
    };
    const got = await acquireUserMedia(want, {
      audio: this.preferred("audio"),
      video: this.preferred("video"),
    });
    if (this.started || round !== this.warmRounds) {
      got.audio?.stop();
      got.video?.stop();
      return "";
    }
    if (got.audio) this.warm.audio = got.audio;
    if (got.video) this.warmVideo(got.video);
    return [got.audioError, got.videoError].filter(Boolean).join(" ");
  }

  /** @param {MediaStreamTrack | null} track  the warm camera, shown in `preview` */
  warmVideo(track) {
    const old = this.warm.video;
    if (old && old !== track) {
      old.stop();
      this.preview.removeTrack(old);
    }
    this.warm.video = track;
    if (track) this.preview.addTrack(track);
  }

  /** Let the warm tracks go (the panel closed without joining). */
  coolDown() {
    this.warmRounds += 1;
    this.warm.audio?.stop();
    this.warm.audio = null;
    this.warmVideo(null);
  }

  /**
   * Use another camera or microphone: the new track replaces the old one here, and the
   * caller puts it on every link (replaceTrack: no new offer). Before the call, the warm
   * preview track is swapped; a device that is off is only chosen for when it comes on.
   * Resolves to why it could not be used, "" on success.
   * @param {Kind} kind @param {string} deviceId  "" for the default
   */
  async useDevice(kind, deviceId) {
    const current = this.started ? this[kind] : this.warm[kind];
    if (!current) return "";
    const turn = ++this.switches[kind];
    let track;
    try {
      track =
        kind === "video"
          ? await acquireCamera(deviceId, deviceId !== "")
          : await acquireMicrophone(deviceId, deviceId !== "");
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
    const now = this.started ? this[kind] : this.warm[kind];
    if (turn !== this.switches[kind] || !now) {
      track.stop();
      return "";
    }
    if (!this.started) {
      if (kind === "video") this.warmVideo(track);
      else {
        this.warm.audio?.stop();
        this.warm.audio = track;
      }
    } else {
      this.setTrack(kind, track);
    }
    return "";
  }

  /**
   * The devices in use (the microphone even while muted: it is held), with their ids.
   * @returns {{ kind: "camera" | "microphone", deviceId: string, label: string }[]}
   */
  inUse() {
    /** @type {{ kind: "camera" | "microphone", deviceId: string, label: string }[]} */
    const used = [];
    for (const kind of /** @type {const} */ (["video", "audio"])) {
      const track = this.started ? this[kind] : this.warm[kind];
      if (track?.readyState !== "live") continue;
      const deviceId = String(track.getSettings?.().deviceId ?? "");
      used.push({ kind: DEVICE_OF[kind], deviceId, label: track.label });
    }
    return used;
  }

  /** Why we are (partly) receive-only, "" when nothing is missing: `media_error`. */
  get error() {
    const { audio, video } = this.problems;
    if (!audio && !video) return "";
    const reasons = audio === video ? audio : [audio, video].filter(Boolean).join(" ");
    const effect =
      audio && video
        ? "Joined receive-only: you see and hear the others; they do not see or hear you."
        : audio
          ? "The others see you but cannot hear you."
          : "The others hear you but cannot see you.";
    return `${reasons} ${effect}`;
  }

  /** @param {"audio" | "video"} kind @param {MediaStreamTrack | null} track */
  setTrack(kind, track) {
    const old = this[kind];
    if (old && old !== track) {
      old.stop();
      this.stream.removeTrack(old);
      if (kind === "video") this.preview.removeTrack(old);
    }
    this[kind] = track;
    if (track) {
      if (kind === "audio") track.enabled = this.microphone;
      this.stream.addTrack(track);
      if (kind === "video") this.preview.addTrack(track);
    }
  }

  /** @returns {MediaSnapshot} */
  snapshot() {
    return {
      audio: this.audio,
      video: this.video,
      canSendAudio: this.canSendAudio,
      canSendVideo: this.canSendVideo,
      stream: this.stream,
    };
  }

  /** What peers are told in `state`. */
  state() {
    return {
      camera: this.camera && this.video !== null,
      microphone: this.microphone && this.audio !== null,
      screen: this.screen !== null,
    };
  }

  /**
   * Turn the camera on or off. Off stops the track, so the camera light goes out; on
   * acquires a new one. Resolves to an error message, "" on success.
   * @param {boolean} on
   */
  async setCamera(on) {
    this.camera = on;
    const request = ++this.cameraRequest;
    // Not in a call: remember the wish for the next start.
    if (!this.started) return "";
    if (!on) {
      this.setTrack("video", null);
      return "";
    }
    if (this.video) return "";
    return this.addDevice(
      "video",
      () => acquireCamera(this.preferred("video")),
      () => request === this.cameraRequest,
    );
  }

  /**
   * Mute or unmute. Muting disables the track (no re-prompt on unmute); without a
   * microphone yet, unmuting asks for one.
   * @param {boolean} on
   */
  async setMicrophone(on) {
    this.microphone = on;
    if (!this.started) return "";
    if (this.audio) {
      this.audio.enabled = on;
      return "";
    }
    if (!on) return "";
    return this.addDevice(
      "audio",
      () => acquireMicrophone(this.preferred("audio")),
      () => this.microphone,
    );
  }

  /**
   * Turn the microphone off and let go of it, so that nothing at all is sent (a host's
   * mute: a disabled track would still send silence). Turning it on asks for it anew.
   */
  releaseMicrophone() {
    this.microphone = false;
    if (this.started) this.setTrack("audio", null);
  }

  /**
   * Acquire a device once in the call and send it, unless the user changed their mind
   * meanwhile. Resolves to an error message, "" on success.
   * @param {"audio" | "video"} kind
   * @param {() => Promise<MediaStreamTrack>} acquire
   * @param {() => boolean} stillWanted
   */
  async addDevice(kind, acquire, stillWanted) {
    try {
      const track = await acquire();
      if (this.stopped || !stillWanted()) {
        track.stop();
        return "";
      }
      if (kind === "video") this.canSendVideo = true;
      else this.canSendAudio = true;
      this.problems[kind] = "";
      this.setTrack(kind, track);
      return "";
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (stillWanted()) {
        if (kind === "video") this.camera = false;
        else this.microphone = false;
        this.problems[kind] = message;
      }
      return message;
    }
  }

  /**
   * Share a screen, window or tab. `onEnded` runs when the browser's own "Stop sharing"
   * ends it. Throws an Error with a readable message.
   * @param {() => void} onEnded
   */
  async startScreen(onEnded) {
    if (this.screen) return this.screen;
    const stream = await acquireScreen();
    if (this.stopped) {
      for (const track of stream.getTracks()) track.stop();
      throw new Error("The call ended before the screen could be shared.");
    }
    const track = stream.getVideoTracks()[0];
    if (!track) {
      for (const other of stream.getTracks()) other.stop();
      throw new Error("The browser shared no picture of the screen.");
    }
    track.addEventListener("ended", onEnded, { once: true });
    this.screen = stream;
    return stream;
  }

  stopScreen() {
    const screen = this.screen;
    this.screen = null;
    for (const track of screen?.getTracks() ?? []) track.stop();
  }

  /** Stop every track: camera and microphone lights go out. */
  stop() {
    this.stopped = true;
    this.coolDown();
    this.stopScreen();
    this.setTrack("audio", null);
    this.setTrack("video", null);
    this.started = false;
  }
}
