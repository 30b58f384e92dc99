// @ts-check
// Between a widget model and its Conference: traits both ways, commands from Python,
// page unload, and leaving when no view has shown the widget for a while.

/**
 * The part of anywidget's model we use. Trait values arrive as JSON from the kernel, so
 * they are `unknown` until read with String(), Boolean() or Number().
 * @typedef {object} AnyModel
 * @property {(name: string) => unknown} get
 * @property {(name: string, value: unknown) => void} set
 * @property {() => void} save_changes
 * @property {(event: string, callback: (...args: unknown[]) => void) => void} on
 * @property {(event: string, callback: (...args: unknown[]) => void) => void} off
 */

/** How long a model with no view stays in the call (output cleared, cell re-run). */
export const NO_VIEW_GRACE_MS = 5000;

/** Settings that only take effect by joining again. */
const REJOIN_ON = ["room", "name", "signaling_url", "token"];

/**
 * Write browser-side traits, skipping values the model already holds (compared with the
 * model, not with what we wrote last, since Python may have changed it meanwhile).
 * @param {AnyModel} model
 * @param {() => boolean} live  false once the model is being destroyed
 * @returns {(patch: Record<string, unknown>) => void}
 */
export function traitWriter(model, live) {
  let closed = false;
  const write = (/** @type {Record<string, unknown>} */ patch) => {
    if (closed || !live()) return;
    let dirty = false;
    for (const [key, value] of Object.entries(patch)) {
      if (JSON.stringify(model.get(key)) === JSON.stringify(value)) continue;
      model.set(key, value);
      dirty = true;
    }
    if (!dirty) return;
    try {
      model.save_changes();
    } catch (error) {
      // The comm is gone (kernel restarted): nothing to report to any more.
      closed = true;
      console.warn("nbconference: cannot write to the widget model", error);
    }
  };
  return write;
}

/**
 * @param {AnyModel} model
 * @param {import("./conference.js").Conference} conference
 * @returns {{ attachView(): () => void, dispose(): void }}
 */
export function bindModel(model, conference) {
  let views = 0;
  let leftForNoView = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let noViewTimer;

  const onCamera = () => {
    const on = Boolean(model.get("camera"));
    if (on !== conference.snapshot().wanted.camera) conference.setCamera(on);
  };
  const onMicrophone = () => {
    const on = Boolean(model.get("microphone"));
    if (on !== conference.snapshot().wanted.microphone) conference.setMicrophone(on);
  };
  const onSettings = () => {
    if (conference.status === "left") return;
    conference.leave();
    conference.rejoin();
  };
  /** @param {unknown} content  a custom message from Python: `{"command": "leave" | "join"}` */
  const onMessage = (content) => {
    if (!content || typeof content !== "object" || !("command" in content)) return;
    if (content.command === "leave") {
      leftForNoView = false;
      conference.leave();
    } else if (content.command === "join") {
      conference.rejoin();
    }
  };
  // pagehide, not beforeunload: JupyterLab may cancel an unload to ask about unsaved
  // changes, and we must not hang up on someone who then stays.
  const onPageHide = () => conference.leave();
  const startNoViewTimer = () => {
    clearTimeout(noViewTimer);
    noViewTimer = setTimeout(() => {
      if (views > 0 || conference.status === "left") return;
      leftForNoView = true;
      conference.leave();
    }, NO_VIEW_GRACE_MS);
  };

  model.on("change:camera", onCamera);
  model.on("change:microphone", onMicrophone);
  for (const name of REJOIN_ON) model.on(`change:${name}`, onSettings);
  model.on("msg:custom", onMessage);
  globalThis.addEventListener?.("pagehide", onPageHide);
  startNoViewTimer();

  return {
    attachView() {
      views += 1;
      clearTimeout(noViewTimer);
      if (leftForNoView) {
        leftForNoView = false;
        conference.rejoin();
      }
      let attached = true;
      return () => {
        if (!attached) return;
        attached = false;
        views -= 1;
        if (views === 0) startNoViewTimer();
      };
    },
    dispose() {
      clearTimeout(noViewTimer);
      model.off("change:camera", onCamera);
      model.off("change:microphone", onMicrophone);
      for (const name of REJOIN_ON) model.off(`change:${name}`, onSettings);
      model.off("msg:custom", onMessage);
      globalThis.removeEventListener?.("pagehide", onPageHide);
    },
  };
}
