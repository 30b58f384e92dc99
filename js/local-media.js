// @ts-check
// Our own microphone, camera and screen share, and what peers are told about them.
import { acquireCamera, acquireMicrophone, acquireScreen, acquireUserMedia } from "./media.js";

/**
 * @typedef {import("./peer.js").MediaSnapshot} MediaSnapshot
 */

export class LocalMedia {
  /** @param {{ camera: boolean, microphone: boolean }} wanted */
  constructor(wanted) {
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
    const got = await acquireUserMedia({ audio: true, video: this.camera });
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
    return this.addDevice("video", acquireCamera, () => request === this.cameraRequest);
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
    return this.addDevice("audio", acquireMicrophone, () => this.microphone);
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
    this.stopScreen();
    this.setTrack("audio", null);
    this.setTrack("video", null);
    this.started = false;
  }
}
