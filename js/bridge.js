// @ts-check
// Between a widget model and its Conference in this browser. Every browser that shows the
// widget is a participant of its own; it tells the kernel what it sees by message (never
// by writing traits: ipywidgets would echo one browser's write to the others), and takes
// the kernel's commands. The kernel merges every browser's report into the traits.
//
// Nothing starts before a view of the widget is on screen, and the call ends a while
// after the last view is gone.

import { FROM_KERNEL, SIGNALING_MODES, TO_KERNEL } from "./protocol.js";

/**
 * The part of anywidget's model we use. Trait values arrive as JSON from the kernel, so
 * they are `unknown` until read with String(), Boolean() or Number().
 * @typedef {object} AnyModel
 * @property {(name: string) => unknown} get
 * @property {(content: Record<string, unknown>) => void} send  a message to the kernel
 * @property {(event: string, callback: (...args: unknown[]) => void) => void} on
 * @property {(event: string, callback: (...args: unknown[]) => void) => void} off
 *
 * @typedef {import("./conference.js").Conference} Conference
 * @typedef {import("./conference.js").Reporter} Reporter
 */

/** How long a model with no view stays in the call (output cleared, cell re-run). */
export const NO_VIEW_GRACE_MS = 5000;
/** A browser repeats its report this often, so the kernel notices one that is gone. */
export const HEARTBEAT_MS = 2000;
/**
 * At most one report in this long: a join changes the record many times within a second
 * (status, each peer, each link, each step of the timeline), and each report is a message
 * through the Jupyter server to the kernel, which takes the CPU the join needs. The last
 * record of a burst goes at the end of the gap.
 */
export const REPORT_GAP_MS = 150;

/** Settings that only take effect by joining again. */
const REJOIN_ON = ["room", "name", "signaling_url", "token"];

/** @returns {string} a key for this browser's report, unique among the viewers */
function viewerKey() {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Reports this browser's part in the call to the kernel by message.
 * @param {AnyModel} model
 * @returns {Reporter & { viewer: string, hello(): void, dispose(): void }}
 */
export function kernelReporter(model) {
  const viewer = viewerKey();
  /** @type {Record<string, unknown> | null} the last record, repeated as a heartbeat */
  let last = null;
  /** the last record sent, as sent (a record that did not change is not sent again) */
  let sent = "";
  let sentAt = -Infinity;
  /** @type {ReturnType<typeof setTimeout> | undefined} the end of the gap, when one waits */
  let pending;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let heartbeat;
  let closed = false;

  /** @param {Record<string, unknown>} content */
  const send = (content) => {
    if (closed) return;
    try {
      model.send({ ...content, viewer });
    } catch (error) {
      // The comm is gone (kernel restarted or widget closed): nobody to tell any more.
      closed = true;
      clearInterval(heartbeat);
      console.warn("nbconference: cannot reach the kernel", error);
    }
  };
  /** @param {Record<string, unknown>} record @param {string} text  it, as JSON */
  const sendRecord = (record, text) => {
    sent = text;
    sentAt = Date.now();
    send({ type: TO_KERNEL.VIEWER, record });
  };
  const report = () => {
    pending = undefined;
    if (last === null) return;
    const text = JSON.stringify(last);
    if (text !== sent) sendRecord(last, text);
  };
  const gone = () => {
    if (last !== null) send({ type: TO_KERNEL.GONE });
    last = null;
    sent = "";
    sentAt = -Infinity; // a new record after this goes at once
    clearTimeout(pending);
    pending = undefined;
    clearInterval(heartbeat);
    heartbeat = undefined;
  };

  return {
    viewer,
    state(record) {
      if (record === null) {
        gone();
        return;
      }
      last = record;
      const wait = sentAt + REPORT_GAP_MS - Date.now();
      if (wait <= 0) report();
      else pending ??= setTimeout(report, wait);
      heartbeat ??= setInterval(() => {
        // Always (the kernel forgets a silent viewer); a report due meanwhile is then done.
        if (last !== null) sendRecord(last, JSON.stringify(last));
      }, HEARTBEAT_MS);
    },
    stats(stats) {
      if (last !== null) send({ type: TO_KERNEL.STATS, stats });
    },
    viewerLeft(id) {
      send({ type: TO_KERNEL.VIEWER_LEFT, id });
    },
    chat(message) {
      send({ type: TO_KERNEL.CHAT, message });
    },
    diagnosis(report) {
      send({ type: TO_KERNEL.DIAGNOSIS, report });
    },
    hello() {
      send({ type: TO_KERNEL.HELLO });
    },
    dispose() {
      gone();
      closed = true;
    },
  };
}

/**
 * @param {unknown} content
 * @returns {{ command: string, on: boolean, fields: Record<string, unknown> } | null}
 */
function readCommand(content) {
  if (!content || typeof content !== "object" || !("command" in content)) return null;
  const fields = /** @type {Record<string, unknown>} */ (content);
  const command = String(fields.command);
  return { command, on: fields.on === true, fields };
}

/** @type {ReadonlySet<unknown>} */
const MODES = new Set(SIGNALING_MODES);

/**
 * The kernel's word on where to join.
 * @param {Record<string, unknown>} fields
 * @returns {import("./signaling.js").SignalingInfo | null}
 */
function readSignaling(fields) {
  const { mode, url, token, advice } = fields;
  if (!MODES.has(mode)) return null;
  return {
    mode: /** @type {import("./signaling.js").SignalingInfo["mode"]} */ (mode),
    url: typeof url === "string" ? url : "",
    token: typeof token === "string" ? token : "",
    advice: typeof advice === "string" ? advice : "",
  };
}

/**
 * @param {AnyModel} model
 * @param {Conference} conference
 * @param {string} viewer  this browser's viewer key (commands for one browser name it)
 * @returns {{ attachView(): () => void, dispose(): void }}
 */
export function bindModel(model, conference, viewer = "") {
  let views = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let noViewTimer;

  const onSettings = () => {
    const { status } = conference.snapshot();
    if (status === "left" || status === "idle") return;
    conference.leave();
    conference.rejoin();
  };
  /** @param {unknown} content  a command from the kernel, for every browser */
  const onMessage = (content) => {
    const message = readCommand(content);
    if (!message) return;
    switch (message.command) {
      case FROM_KERNEL.LEAVE:
        conference.leave();
        break;
      case FROM_KERNEL.JOIN:
        if (views > 0) conference.rejoin();
        break;
      case FROM_KERNEL.CAMERA:
      case FROM_KERNEL.MICROPHONE:
        void conference.requestFromCode(message.command, message.on);
        break;
      case FROM_KERNEL.CAMERA_DEVICE:
        if (typeof message.fields.device === "string") {
          void conference.requestCameraFromCode(message.fields.device);
        }
        break;
      case FROM_KERNEL.DIAGNOSE:
        // Only browsers that show the widget are viewers; each answers with a `diagnosis`
        // message (the reporter), in the call or not.
        if (views > 0) void conference.diagnose();
        break;
      case FROM_KERNEL.RECEIVE_VIDEO:
        conference.setReceiveVideo(message.on);
        break;
      case FROM_KERNEL.CHAT:
        if (message.fields.via === viewer && typeof message.fields.text === "string") {
          conference.sendChat(message.fields.text, true);
        }
        break;
      case FROM_KERNEL.LOWER_HAND:
        if (message.fields.via === viewer && typeof message.fields.peer === "string") {
          conference.lowerHand(message.fields.peer);
        }
        break;
      case FROM_KERNEL.SIGNALING: {
        const info = readSignaling(message.fields);
        if (info) conference.setSignaling(info);
        break;
      }
    }
  };
  // pagehide, not beforeunload: JupyterLab may cancel an unload to ask about unsaved
  // changes, and we must not hang up on someone who then stays.
  const onPageHide = () => conference.stand();

  for (const name of REJOIN_ON) model.on(`change:${name}`, onSettings);
  model.on("msg:custom", onMessage);
  globalThis.addEventListener?.("pagehide", onPageHide);

  return {
    attachView() {
      views += 1;
      clearTimeout(noViewTimer);
      conference.rendered();
      const { status, elsewhere } = conference.snapshot();
      // The first view on screen starts the call; nothing before it.
      if (status === "idle" && !elsewhere) void conference.join();
      let attached = true;
      return () => {
        if (!attached) return;
        attached = false;
        views -= 1;
        if (views > 0) return;
        clearTimeout(noViewTimer);
        noViewTimer = setTimeout(() => {
          if (views === 0) conference.stand();
        }, NO_VIEW_GRACE_MS);
      };
    },
    dispose() {
      clearTimeout(noViewTimer);
      for (const name of REJOIN_ON) model.off(`change:${name}`, onSettings);
      model.off("msg:custom", onMessage);
      globalThis.removeEventListener?.("pagehide", onPageHide);
    },
  };
}
