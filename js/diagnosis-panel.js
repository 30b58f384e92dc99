// @ts-check
// The ⓘ panel of a view: this browser's connection check (diagnosis.js) in short lines,
// with the advice for each thing that fails, and a button to run it again. The kernel's
// `w.diagnose()` runs the same check; its report shows here too.
import { summaryLines } from "./diagnosis.js";
import { h } from "./tiles.js";

/**
 * @typedef {import("./snapshot.js").ConferenceSnapshot} ConferenceSnapshot
 */

/** @param {() => void} run  start a check */
export function diagnosisPanel(run) {
  const el = h("section", "nbc-diagnosis");
  el.setAttribute("aria-label", "Connection check");
  el.hidden = true;
  const head = h("div", "nbc-diagnosis-head");
  const title = h("strong");
  title.textContent = "Connection check";
  const button = /** @type {HTMLButtonElement} */ (h("button", "nbc-button nbc-small"));
  button.type = "button";
  button.dataset.action = "run-diagnosis";
  button.addEventListener("click", run);
  const state = h("span", "nbc-diagnosis-state");
  state.setAttribute("role", "status");
  head.append(title, button, state);
  const lines = h("dl", "nbc-diagnosis-lines");
  const advice = h("ul", "nbc-diagnosis-advice");
  advice.setAttribute("role", "alert");
  el.append(head, lines, advice);
  /** @type {unknown} the report shown, to render only when it changes */
  let shown = null;

  return {
    el,
    get open() {
      return !el.hidden;
    },
    /** @param {boolean} open */
    setOpen(open) {
      el.hidden = !open;
    },
    /** @param {ConferenceSnapshot} c */
    update(c) {
      const { running, report } = c.diagnosis;
      button.disabled = running;
      button.textContent = report ? "Check again" : "Check my connection";
      state.textContent = running
        ? "Checking…"
        : report
          ? `Checked at ${new Date(report.finished_at * 1000).toLocaleTimeString()}`
          : "";
      el.dataset.running = String(running);
      if (report === shown) return;
      shown = report;
      lines.replaceChildren();
      advice.replaceChildren();
      if (!report) return;
      for (const line of summaryLines(report)) {
        const term = h("dt");
        term.textContent = line.label;
        const value = h("dd");
        value.textContent = line.text;
        value.dataset.ok = String(line.ok);
        lines.append(term, value);
      }
      for (const sentence of report.advice) {
        const item = h("li");
        item.textContent = sentence;
        advice.append(item);
      }
      if (!report.advice.length) {
        const item = h("li", "nbc-diagnosis-fine");
        item.textContent = "Nothing wrong found.";
        advice.append(item);
      }
    },
  };
}
