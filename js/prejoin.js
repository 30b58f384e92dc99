// @ts-check
// The pre-join panel: before a person's first join of a call in this browser today, a
// preview of their camera, a live microphone level, the device pickers and three ways in
// ("Join", "Join with camera off", "Join muted"). Nobody is put in a call with camera
// and microphone on without a click of their own: not the person who ran the cell, and
// not a collaborator whose browser renders a cell someone else ran. A widget made with
// `prejoin=False` joins at once, as does a call this browser joined today.
import { h } from "./tiles.js";

/**
 * @typedef {import("./devices.js").Store} Store
 * @typedef {import("./devices.js").DeviceKind} DeviceKind
 * @typedef {import("./devices.js").DeviceEntry} DeviceEntry
 *
 * @typedef {object} PrejoinSnapshot  the panel, while it is open
 * @property {MediaStream} preview  the camera, while it is on
 * @property {MediaStreamTrack | null} microphone  for the level meter
 * @property {boolean} camera  the camera is wanted (its preview shows)
 * @property {string} problem  why a device could not be opened, "" when both could
 *
 * @typedef {object} DeviceMenus  what the pickers list and which entry is in use
 * @property {readonly DeviceEntry[]} list
 * @property {Readonly<Record<DeviceKind, string>>} inUse  deviceId, "" for the default
 * @property {boolean} canChooseSpeaker  the browser has setSinkId
 *
 * @typedef {object} PrejoinActions
 * @property {(choice: { camera: boolean, microphone: boolean }) => void} finishPrejoin
 * @property {(kind: DeviceKind, deviceId: string) => unknown} chooseDevice
 */

/** Where the calls joined today are kept (localStorage). */
export const JOINED_KEY = "nbconference.joined";

/** The local calendar day of `now` (ms), as YYYY-MM-DD. @param {number} now */
export function dayOf(now) {
  const date = new Date(now);
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/**
 * This browser joined `call` today: the panel is not shown again.
 * @param {Store | null} storage @param {string} call @param {number} now
 */
export function joinedToday(storage, call, now) {
  return readJoined(storage)[call] === dayOf(now);
}

/**
 * Remember that this browser joined `call` today; other days' entries are dropped.
 * @param {Store | null} storage @param {string} call @param {number} now
 */
export function rememberJoin(storage, call, now) {
  if (!storage) return;
  const today = dayOf(now);
  /** @type {Record<string, string>} */
  const kept = {};
  for (const [key, day] of Object.entries(readJoined(storage))) if (day === today) kept[key] = day;
  kept[call] = today;
  try {
    storage.setItem(JOINED_KEY, JSON.stringify(kept));
  } catch (error) {
    // Only the memory is lost: the panel shows again next time.
    console.warn("nbconference: cannot remember the join", error);
  }
}

/** @param {Store | null} storage @returns {Record<string, string>} */
function readJoined(storage) {
  try {
    const saved = JSON.parse(storage?.getItem(JOINED_KEY) ?? "null");
    if (saved && typeof saved === "object" && !Array.isArray(saved)) {
      return Object.fromEntries(Object.entries(saved).filter(([, v]) => typeof v === "string"));
    }
  } catch {
    // unreadable: as if nothing was joined
  }
  return {};
}

/**
 * Whether the panel shows before joining.
 * @param {{ prejoin: boolean, joinedToday: boolean, done: boolean }} facts  `prejoin`:
 *   the widget's setting; `done`: the person already went through it in this page
 */
export function showsPrejoin(facts) {
  return facts.prejoin && !facts.joinedToday && !facts.done;
}

/** @type {Record<DeviceKind, string>} */
const PICKER_LABEL = { camera: "Camera", microphone: "Microphone", speaker: "Speaker" };

/**
 * A <select> of the devices of `kind`, the one in use selected.
 * @param {DeviceKind} kind @param {(kind: DeviceKind, deviceId: string) => unknown} choose
 */
export function devicePicker(kind, choose) {
  const label = /** @type {HTMLLabelElement} */ (h("label", "nbc-picker"));
  const caption = h("span");
  caption.textContent = PICKER_LABEL[kind];
  const select = /** @type {HTMLSelectElement} */ (h("select"));
  select.dataset.device = kind;
  select.addEventListener("change", () => void choose(kind, select.value));
  label.append(caption, select);
  let shown = "";
  return {
    el: label,
    /** @param {DeviceMenus} menus */
    update(menus) {
      const entries = menus.list.filter((d) => d.kind === kind);
      const fingerprint = JSON.stringify([entries, menus.inUse[kind]]);
      label.hidden = entries.length === 0 || (kind === "speaker" && !menus.canChooseSpeaker);
      if (fingerprint === shown) return;
      shown = fingerprint;
      select.replaceChildren(
        ...entries.map((d, i) => {
          const option = /** @type {HTMLOptionElement} */ (h("option"));
          option.value = d.deviceId;
          option.textContent = d.label || `${PICKER_LABEL[kind]} ${i + 1}`;
          return option;
        }),
      );
      const inUse = menus.inUse[kind];
      select.value = entries.some((d) => d.deviceId === inUse)
        ? inUse
        : (entries.find((d) => d.deviceId === "default")?.deviceId ?? entries[0]?.deviceId ?? "");
    },
  };
}

/**
 * A live level meter for `track` (RMS of the last ~50 ms, 0..1), redrawn each frame.
 * @param {HTMLElement} bar  its width is the level
 */
function levelMeter(bar) {
  /** @type {MediaStreamTrack | null} */
  let current = null;
  /** @type {AudioContext | null} */
  let context = null;
  let frame = 0;
  const stop = () => {
    cancelAnimationFrame(frame);
    void context?.close().catch(() => {});
    context = null;
    current = null;
    bar.style.width = "0%";
  };
  return {
    /** @param {MediaStreamTrack | null} track */
    show(track) {
      if (track === current) return;
      stop();
      if (!track || typeof AudioContext === "undefined") return;
      current = track;
      context = new AudioContext();
      const analyser = context.createAnalyser();
      analyser.fftSize = 1024;
      context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
      const samples = new Float32Array(analyser.fftSize);
      const draw = () => {
        analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (const s of samples) sum += s * s;
        const rms = Math.sqrt(sum / samples.length);
        // Speech sits around 0.03..0.3 RMS: a square root spreads it over the bar.
        const level = Math.min(1, Math.sqrt(rms) * 1.6);
        bar.style.width = `${Math.round(level * 100)}%`;
        bar.dataset.level = level.toFixed(3);
        frame = requestAnimationFrame(draw);
      };
      draw();
    },
    stop,
  };
}

/**
 * The panel in one view.
 * @param {PrejoinActions} actions
 */
export function prejoinPanel(actions) {
  const el = h("div", "nbc-prejoin");
  el.setAttribute("role", "dialog");
  el.setAttribute("aria-label", "Before you join");
  const title = h("div", "nbc-prejoin-title");
  title.textContent = "Check your camera and microphone, then join.";
  const video = /** @type {HTMLVideoElement} */ (h("video", "nbc-prejoin-preview"));
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  const cameraOff = h("div", "nbc-prejoin-camera-off");
  cameraOff.textContent = "Camera off";
  const stage = h("div", "nbc-prejoin-stage");
  stage.append(video, cameraOff);
  const meter = h("div", "nbc-level");
  meter.setAttribute("aria-label", "Microphone level");
  const bar = h("div", "nbc-level-bar");
  meter.append(bar);
  const level = levelMeter(bar);
  const pickers = /** @type {const} */ (["camera", "microphone", "speaker"]).map((kind) =>
    devicePicker(kind, actions.chooseDevice),
  );
  const problem = h("div", "nbc-notice");
  /** @param {string} action @param {string} text @param {{ camera: boolean, microphone: boolean }} choice */
  const button = (action, text, choice) => {
    const b = /** @type {HTMLButtonElement} */ (h("button", "nbc-button"));
    b.type = "button";
    b.dataset.action = action;
    b.textContent = text;
    b.addEventListener("click", () => actions.finishPrejoin(choice));
    return b;
  };
  const join = button("prejoin-join", "Join", { camera: true, microphone: true });
  join.classList.add("nbc-primary");
  const buttons = h("div", "nbc-prejoin-buttons");
  buttons.append(
    join,
    button("prejoin-camera-off", "Join with camera off", { camera: false, microphone: true }),
    button("prejoin-muted", "Join muted", { camera: true, microphone: false }),
  );
  const form = h("div", "nbc-prejoin-pickers");
  form.append(...pickers.map((p) => p.el));
  el.append(title, stage, meter, form, problem, buttons);

  return {
    el,
    /** @param {PrejoinSnapshot | null} panel @param {DeviceMenus} menus */
    update(panel, menus) {
      el.hidden = panel === null;
      if (!panel) {
        level.stop();
        video.srcObject = null;
        return;
      }
      const live = panel.camera && panel.preview.getVideoTracks().length > 0;
      if (video.srcObject !== panel.preview) video.srcObject = panel.preview;
      video.hidden = !live;
      cameraOff.hidden = live;
      level.show(panel.microphone);
      for (const picker of pickers) picker.update(menus);
      problem.textContent = panel.problem;
      problem.hidden = !panel.problem;
    },
    dispose() {
      level.stop();
    },
  };
}
