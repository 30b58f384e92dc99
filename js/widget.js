// @ts-check
// The anywidget entry point. `initialize` runs once per widget model in each browser and
// owns this browser's part in the call, but starts nothing: ipywidgets restores every live
// model into every front end that attaches to the kernel, shown or not. `render` runs per
// view (the same widget may be shown in several cells); the first view starts the call.
// anywidget hands initialize and render different model objects, so they meet through
// the synced `instance_id` trait, in a registry that tests may read.
import "./widget.css";
import { bindModel, kernelReporter } from "./bridge.js";
import { Conference } from "./conference.js";
import { renderView } from "./view.js";

/**
 * @typedef {{ conferences: Map<string, Conference>, bridges: Map<string, ReturnType<typeof bindModel>> }} Registry
 */

/** @returns {Registry} */
function registry() {
  const global = /** @type {typeof globalThis & { __nbconference?: Partial<Registry> }} */ (
    globalThis
  );
  const found = (global.__nbconference ??= {});
  found.conferences ??= new Map();
  found.bridges ??= new Map();
  return { conferences: found.conferences, bridges: found.bridges };
}

export default {
  /** @param {{ model: import("./bridge.js").AnyModel }} context */
  initialize({ model }) {
    const { conferences, bridges } = registry();
    const id = String(model.get("instance_id"));
    // A reload of this module (live reload while developing) replaces the old call.
    conferences.get(id)?.close();
    const reporter = kernelReporter(model);
    const conference = new Conference(model, reporter);
    const bridge = bindModel(model, conference, reporter.viewer);
    conferences.set(id, conference);
    bridges.set(id, bridge);
    // Ask the kernel where to join (and for a token, which is never in synced state).
    reporter.hello();
    return () => {
      bridge.dispose();
      conference.close();
      reporter.dispose();
      if (conferences.get(id) === conference) conferences.delete(id);
      if (bridges.get(id) === bridge) bridges.delete(id);
    };
  },

  /** @param {{ model: import("./bridge.js").AnyModel, el: HTMLElement }} context */
  render({ model, el }) {
    const { conferences, bridges } = registry();
    const id = String(model.get("instance_id"));
    const conference = conferences.get(id);
    const bridge = bridges.get(id);
    if (!conference || !bridge) {
      el.textContent = "nbconference: this widget's call is not running (re-run the cell).";
      return;
    }
    const detach = bridge.attachView();
    const dispose = renderView(el, conference);
    return () => {
      dispose();
      detach();
    };
  },
};
