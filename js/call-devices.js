// @ts-check
// A call's devices and its pre-join panel, for one Conference: which camera, microphone
// and speaker (devices.js), switching them mid-call, what a device unplugged or plugged
// in does, the notebook's request for a camera, and the panel that waits for the
// person's click before their first join (prejoin.js). The Conference keeps the call;
// this keeps the devices, and reaches the call only through the hooks it is given.
import {
  Devices,
  deviceReport,
  findRequested,
  pageStorage,
  planDeviceChange,
} from "./devices.js";
import { joinedToday, rememberJoin, showsPrejoin } from "./prejoin.js";

/**
 * @typedef {import("./devices.js").DeviceKind} DeviceKind
 * @typedef {import("./devices.js").DeviceEntry} DeviceEntry
 * @typedef {import("./devices.js").DeviceReport} DeviceReport
 * @typedef {import("./prejoin.js").DeviceMenus & { report: DeviceReport }} DeviceSnapshot
 *
 * @typedef {object} CallHooks  what the devices need of the call
 * @property {import("./local-media.js").LocalMedia} media
 * @property {import("./audio.js").AudioSinks} audio
 * @property {() => boolean} prejoin  the widget's `prejoin` setting
 * @property {() => string} call  the call's key (origin, server, room)
 * @property {() => Promise<void>} enter  join now (after the person's click)
 * @property {(problem: string) => void} afterLocalChange  our tracks changed: onto every
 *   link (replaceTrack), tell the room, show `problem` if any
 * @property {(message: string) => void} showNotice
 * @property {() => void} changed
 */

export class CallDevices {
  /** @type {CallHooks | null} */ #hooks = null;
  /** the pre-join panel is open: joining waits for the person's click */
  #prejoinOpen = false;
  /** the person went through the panel in this page */
  #prejoinDone = false;
  /** why the panel could not open a device */
  #prejoinProblem = "";
  /** the speaker chosen here ("" the default), once setSinkId took it */
  #speakerId = "";
  /** @type {DeviceEntry | null} a camera the notebook's code asks to switch to */
  #request = null;

  /** @param {() => void} changed */
  constructor(changed) {
    this.devices = new Devices({ storage: pageStorage(), onChange: changed });
    this.devices.onDeviceChange = (before, after) => void this.#follow(before, after);
  }

  /** The call's side, once it exists (LocalMedia needs `devices` first). @param {CallHooks} hooks */
  connect(hooks) {
    this.#hooks = hooks;
  }

  get #call() {
    if (!this.#hooks) throw new Error("CallDevices used before connect()");
    return this.#hooks;
  }

  // -- the pre-join panel -------------------------------------------------------------

  /** Joining waits for the panel: shown by default, once a day per call and browser. */
  needsPrejoin() {
    return showsPrejoin({
      prejoin: this.#call.prejoin(),
      joinedToday: joinedToday(pageStorage(), this.#call.call(), Date.now()),
      done: this.#prejoinDone,
    });
  }

  get prejoinOpen() {
    return this.#prejoinOpen;
  }

  /** Show the panel: the camera's preview and the microphone's level, before any call. */
  openPrejoin() {
    this.#prejoinOpen = true;
    this.devices.watch();
    this.#call.changed();
    void this.#call.media.warmUp().then(async (problem) => {
      this.#prejoinProblem = problem;
      await this.devices.refresh(); // labels come once the devices are allowed
      this.#call.changed();
    });
  }

  /** Close the panel unanswered: its camera and microphone are let go. */
  closePrejoin() {
    if (!this.#prejoinOpen) return;
    this.#prejoinOpen = false;
    this.#call.media.coolDown();
    this.devices.unwatch();
    this.#call.changed();
  }

  /**
   * The person's click on the panel: join with the devices they chose.
   * @param {{ camera: boolean, microphone: boolean }} choice
   * @returns {Promise<boolean>} false when the panel was not open
   */
  async finishPrejoin(choice) {
    if (!this.#prejoinOpen) return false;
    this.#prejoinOpen = false;
    this.#prejoinDone = true;
    const { media } = this.#call;
    await media.setCamera(choice.camera);
    await media.setMicrophone(choice.microphone);
    await this.#call.enter();
    return true;
  }

  /** @returns {import("./prejoin.js").PrejoinSnapshot | null} */
  prejoinSnapshot() {
    if (!this.#prejoinOpen) return null;
    const { media } = this.#call;
    return Object.freeze({
      preview: media.preview,
      microphone: media.warm.audio,
      camera: media.camera,
      problem: this.#prejoinProblem,
    });
  }

  // -- the call's side ----------------------------------------------------------------

  /** The camera and microphone are up: follow the devices, and learn their labels. */
  mediaStarted() {
    this.devices.watch();
    void this.devices.refresh();
  }

  /** The server let us in: the panel is not shown again today for this call. */
  joined() {
    rememberJoin(pageStorage(), this.#call.call(), Date.now());
  }

  /** The call ended. */
  hungUp() {
    this.devices.unwatch();
    this.#request = null;
  }

  close() {
    this.#prejoinOpen = false;
    this.#call.media.coolDown();
    this.devices.unwatch();
  }

  /** What the menus list, what is in use, and what the kernel hears of it. @returns {DeviceSnapshot} */
  snapshot() {
    const used = this.#call.media.inUse();
    const inUse = {
      camera: used.find((d) => d.kind === "camera")?.deviceId ?? "",
      microphone: used.find((d) => d.kind === "microphone")?.deviceId ?? "",
      speaker: this.#speakerId || "default",
    };
    const list = this.devices.list;
    const speaker = list.find((d) => d.kind === "speaker" && d.deviceId === inUse.speaker);
    const reported = speaker ? [...used, { kind: speaker.kind, label: speaker.label }] : used;
    return Object.freeze({
      list,
      inUse: Object.freeze(inUse),
      canChooseSpeaker: this.devices.canChooseSpeaker,
      report: deviceReport(list, reported),
    });
  }

  get request() {
    return this.#request;
  }

  // -- choosing -----------------------------------------------------------------------

  /**
   * The person picks a camera, microphone or speaker (menus, panel): it is remembered,
   * and a device in use is switched at once; the new track goes onto every link with
   * replaceTrack (afterLocalChange), with no new offer.
   * @param {DeviceKind} kind @param {string} deviceId
   */
  async choose(kind, deviceId) {
    this.devices.choose(kind, deviceId);
    const call = this.#call;
    if (kind === "speaker") {
      const problem = await call.audio.setSinkId(deviceId === "default" ? "" : deviceId);
      if (problem) call.showNotice(problem);
      else this.#speakerId = deviceId;
      call.changed();
      return;
    }
    const problem = await call.media.useDevice(kind === "camera" ? "video" : "audio", deviceId);
    call.afterLocalChange(problem);
  }

  /**
   * The notebook's code asks for a camera by label or id (`w.camera_device`). Like
   * `w.camera`, it shows nothing new without the person's yes: with the camera off it
   * is only chosen for when it comes on; with the camera on, the person is asked.
   * @param {string} text
   */
  async requestCamera(text) {
    await this.devices.refresh();
    const entry = findRequested(this.devices.list, "camera", text);
    if (!entry) {
      this.#call.showNotice(
        `The notebook asked for the camera “${text}”, which this browser does not have.`,
      );
      return;
    }
    const inUse = this.#call.media.inUse().find((d) => d.kind === "camera");
    if (inUse?.deviceId === entry.deviceId) return;
    if (!inUse) {
      this.devices.choose("camera", entry.deviceId);
      return;
    }
    this.#request = entry;
    this.#call.changed();
  }

  /** The person's answer to the notebook's camera request. @param {boolean} accept */
  async answerRequest(accept) {
    const entry = this.#request;
    this.#request = null;
    this.#call.changed();
    if (accept && entry) await this.choose(entry.kind, entry.deviceId);
  }

  /**
   * A device came or went: one in use that is gone falls back to the default, with a
   * notice; new ones are offered in the menus.
   * @param {DeviceEntry[]} before @param {DeviceEntry[]} after
   */
  async #follow(before, after) {
    const call = this.#call;
    /** @type {Partial<Record<DeviceKind, string>>} */
    const inUse = { speaker: this.#speakerId };
    for (const d of call.media.inUse()) inUse[d.kind] = d.deviceId;
    const { fallback, notice } = planDeviceChange(before, after, inUse);
    for (const kind of fallback) {
      if (kind === "speaker") {
        this.#speakerId = "";
        await call.audio.setSinkId("");
      } else {
        await call.media.useDevice(kind === "camera" ? "video" : "audio", "");
      }
    }
    if (fallback.length) call.afterLocalChange("");
    if (notice) call.showNotice(notice);
  }
}
