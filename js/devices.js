// @ts-check
// Which camera, microphone and speaker this browser uses: the browser's lists, the
// person's choice remembered per browser (by deviceId, with the label as a fallback:
// browsers may give a device a new id after the site's data is cleared, or in another
// profile), and what a device unplugged or plugged in mid-call does. The rules are plain
// functions (tested in Node); the Devices class wires them to navigator.mediaDevices.

/**
 * @typedef {"camera" | "microphone" | "speaker"} DeviceKind
 * @typedef {{ deviceId: string, label: string }} Choice  a device as remembered
 * @typedef {{ kind: DeviceKind, deviceId: string, label: string }} DeviceEntry
 * @typedef {Record<DeviceKind, Choice | null>} Choices  null: the browser's default
 * @typedef {{ getItem(key: string): string | null, setItem(key: string, value: string): void }} Store
 *
 * @typedef {object} DeviceReport  what the kernel hears of one viewer's devices
 *   (`w.devices`): the ones in use, and how many of each kind, never the full lists
 * @property {{ kind: DeviceKind, label: string }[]} in_use
 * @property {Record<DeviceKind, number>} counts
 */

/** The browser's kinds, as we name them. @type {Readonly<Record<string, DeviceKind>>} */
export const KIND_OF = Object.freeze({
  videoinput: "camera",
  audioinput: "microphone",
  audiooutput: "speaker",
});
/** @type {readonly DeviceKind[]} */
export const DEVICE_KINDS = Object.freeze(["camera", "microphone", "speaker"]);
/** Where the choices are kept (localStorage): one entry for every widget of the origin. */
export const STORAGE_KEY = "nbconference.devices";

/** @returns {Choices} */
function noChoices() {
  return { camera: null, microphone: null, speaker: null };
}

/**
 * The browser's list as ours. Chrome's "communications" alias duplicates a real device;
 * entries without an id (no permission yet) name nothing we could choose.
 * @param {readonly { kind: string, deviceId: string, label: string }[]} infos
 * @returns {DeviceEntry[]}
 */
export function listDevices(infos) {
  /** @type {DeviceEntry[]} */
  const list = [];
  for (const info of infos) {
    const kind = KIND_OF[info.kind];
    if (!kind || !info.deviceId || info.deviceId === "communications") continue;
    list.push({ kind, deviceId: info.deviceId, label: info.label || "" });
  }
  return list;
}

/**
 * The device of `kind` that `wanted` names: the same id, else the same label (ids may
 * change, names rarely do); null when neither is there (the default is used).
 * @param {readonly DeviceEntry[]} list @param {DeviceKind} kind @param {Choice | null} wanted
 * @returns {DeviceEntry | null}
 */
export function findDevice(list, kind, wanted) {
  if (!wanted) return null;
  const ofKind = list.filter((d) => d.kind === kind);
  return (
    ofKind.find((d) => d.deviceId === wanted.deviceId) ??
    (wanted.label ? ofKind.find((d) => d.label === wanted.label) : undefined) ??
    null
  );
}

/**
 * The device the notebook's code names (`w.camera_device = "label or id"`): an exact id
 * or label, else the one label that contains the text (case aside); null if none or
 * several do.
 * @param {readonly DeviceEntry[]} list @param {DeviceKind} kind @param {string} text
 * @returns {DeviceEntry | null}
 */
export function findRequested(list, kind, text) {
  const wanted = text.trim();
  if (!wanted) return null;
  const ofKind = list.filter((d) => d.kind === kind);
  const exact = ofKind.find((d) => d.deviceId === wanted || d.label === wanted);
  if (exact) return exact;
  const lower = wanted.toLowerCase();
  const partial = ofKind.filter((d) => d.label.toLowerCase().includes(lower));
  return partial.length === 1 ? (partial[0] ?? null) : null;
}

/**
 * The remembered choices; anything unreadable counts as no choice.
 * @param {Store | null} storage
 * @returns {Choices}
 */
export function readChoices(storage) {
  const choices = noChoices();
  let saved;
  try {
    saved = JSON.parse(storage?.getItem(STORAGE_KEY) ?? "null");
  } catch {
    return choices;
  }
  if (!saved || typeof saved !== "object") return choices;
  for (const kind of DEVICE_KINDS) {
    const entry = saved[kind];
    if (entry && typeof entry.deviceId === "string" && typeof entry.label === "string") {
      choices[kind] = { deviceId: entry.deviceId, label: entry.label };
    }
  }
  return choices;
}

/**
 * Remember `choice` for `kind` (null: back to the default). A storage that refuses
 * (private mode, quota) only costs the memory: the choice still applies now.
 * @param {Store | null} storage @param {DeviceKind} kind @param {Choice | null} choice
 * @returns {string} why it could not be remembered, "" when it was
 */
export function writeChoice(storage, kind, choice) {
  if (!storage) return "This browser keeps no device choices for this page.";
  const choices = readChoices(storage);
  choices[kind] = choice ? { deviceId: choice.deviceId, label: choice.label } : null;
  try {
    storage.setItem(STORAGE_KEY, JSON.stringify(choices));
    return "";
  } catch (error) {
    return `The browser would not remember the device: ${error instanceof Error ? error.message : error}`;
  }
}

/**
 * What a `devicechange` means for a call: the kinds whose device in use is gone (they
 * fall back to the default), and the devices that are new (offered in the menus).
 * @param {readonly DeviceEntry[]} before @param {readonly DeviceEntry[]} after
 * @param {Partial<Record<DeviceKind, string>>} inUse  the deviceId of each kind in use
 * @returns {{ lost: DeviceKind[], added: DeviceEntry[] }}
 */
export function deviceChanges(before, after, inUse) {
  const key = (/** @type {DeviceEntry} */ d) => `${d.kind}\n${d.deviceId}`;
  const now = new Set(after.map(key));
  const had = new Set(before.map(key));
  /** @type {DeviceKind[]} */
  const lost = [];
  for (const kind of DEVICE_KINDS) {
    const id = inUse[kind];
    // "default" follows the system's default itself: it is never lost.
    if (id && id !== "default" && !now.has(`${kind}\n${id}`)) lost.push(kind);
  }
  const added = after.filter((d) => !had.has(key(d)) && d.deviceId !== "default");
  return { lost, added };
}

/** @type {Record<DeviceKind, string>} */
const NOUN = { camera: "camera", microphone: "microphone", speaker: "speaker" };

/**
 * The notice for a device unplugged mid-call.
 * @param {DeviceKind} kind @param {string} label
 */
export function lostNotice(kind, label) {
  const name = label ? `“${label}”` : `the ${NOUN[kind]}`;
  return `Your ${NOUN[kind]} ${name} is gone: now using the default ${NOUN[kind]}.`;
}

/**
 * The notice for devices plugged in mid-call.
 * @param {readonly DeviceEntry[]} added
 */
export function addedNotice(added) {
  if (added.length === 0) return "";
  const names = added.map((d) => `${NOUN[d.kind]} “${d.label || "unnamed"}”`).join(", ");
  return `New: ${names}. Choose it in the device menu.`;
}

/**
 * What to do on a `devicechange`: the kinds to put back on the default device (theirs is
 * gone), and the one notice that says so and names what is new ("" when nothing is).
 * @param {readonly DeviceEntry[]} before @param {readonly DeviceEntry[]} after
 * @param {Partial<Record<DeviceKind, string>>} inUse  the deviceId of each kind in use
 * @returns {{ fallback: DeviceKind[], notice: string }}
 */
export function planDeviceChange(before, after, inUse) {
  const { lost, added } = deviceChanges(before, after, inUse);
  const notices = lost.map((kind) => {
    const gone = before.find((d) => d.kind === kind && d.deviceId === inUse[kind]);
    return lostNotice(kind, gone?.label ?? "");
  });
  if (added.length) notices.push(addedNotice(added));
  return { fallback: lost, notice: notices.join(" ") };
}

/**
 * What the kernel hears of this browser's devices.
 * @param {readonly DeviceEntry[]} list
 * @param {readonly { kind: DeviceKind, label: string }[]} inUse
 * @returns {DeviceReport}
 */
export function deviceReport(list, inUse) {
  /** @type {Record<DeviceKind, number>} */
  const counts = { camera: 0, microphone: 0, speaker: 0 };
  // The "default" aliases repeat a real device: not counted.
  for (const d of list) if (d.deviceId !== "default") counts[d.kind] += 1;
  return { in_use: inUse.map(({ kind, label }) => ({ kind, label })), counts };
}

/**
 * The browser's device lists, the person's choices and their memory, for one call.
 */
export class Devices {
  /**
   * @param {object} options
   * @param {Store | null} options.storage  localStorage, null where there is none
   * @param {() => void} options.onChange  the list or a choice changed
   */
  constructor({ storage, onChange }) {
    this.storage = storage;
    this.onChange = onChange;
    /** @type {DeviceEntry[]} */
    this.list = [];
    /** @type {Choices} the person's choices, as remembered */
    this.choices = readChoices(storage);
    /** @type {((before: DeviceEntry[], after: DeviceEntry[]) => void) | null} a
     *  `devicechange`: the lists before and after it */
    this.onDeviceChange = null;
    this.listener = () => void this.refresh(true);
    /** setSinkId exists: speakers can be chosen */
    this.canChooseSpeaker =
      typeof globalThis.HTMLMediaElement !== "undefined" &&
      "setSinkId" in globalThis.HTMLMediaElement.prototype;
  }

  /** Listen to `devicechange` (plugged in, unplugged) until unwatch(). */
  watch() {
    navigator.mediaDevices?.addEventListener?.("devicechange", this.listener);
  }

  unwatch() {
    navigator.mediaDevices?.removeEventListener?.("devicechange", this.listener);
  }

  /**
   * Read the browser's lists again (labels come once a device was allowed).
   * @param {boolean} [changed]  after a `devicechange`: report what came and went
   */
  async refresh(changed = false) {
    const enumerate = navigator.mediaDevices?.enumerateDevices;
    if (!enumerate) return;
    const before = this.list;
    try {
      this.list = listDevices(await navigator.mediaDevices.enumerateDevices());
    } catch (error) {
      console.warn("nbconference: cannot list the devices", error);
      return;
    }
    if (changed) this.onDeviceChange?.(before, this.list);
    this.onChange();
  }

  /**
   * The deviceId to ask for, "" for the default: the remembered one, found by id or
   * label in the current list (before any list, the remembered id).
   * @param {DeviceKind} kind
   */
  preferred(kind) {
    const choice = this.choices[kind];
    if (!choice) return "";
    if (this.list.length === 0) return choice.deviceId;
    return findDevice(this.list, kind, choice)?.deviceId ?? "";
  }

  /**
   * The person chose a device: remember it (by id and label).
   * @param {DeviceKind} kind @param {string} deviceId  "" for the default
   */
  choose(kind, deviceId) {
    const entry = this.list.find((d) => d.kind === kind && d.deviceId === deviceId) ?? null;
    const choice = entry && deviceId !== "default" ? entry : null;
    this.choices[kind] = choice && { deviceId: choice.deviceId, label: choice.label };
    const problem = writeChoice(this.storage, kind, this.choices[kind]);
    if (problem) console.warn("nbconference:", problem);
    this.onChange();
  }

  /** @param {DeviceKind} kind */
  ofKind(kind) {
    return this.list.filter((d) => d.kind === kind);
  }
}

/** localStorage when the page may use it, else null. @returns {Store | null} */
export function pageStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // storage blocked for this origin
  }
}
