// @ts-check
// When each step of joining happened, so that a slow join says where its time went. The
// times are epoch milliseconds (performance.timeOrigin + performance.now() in the page,
// time.time() in the kernel): both clocks are the same machine's wall clock, so the
// kernel's "the cell ran" and the page's steps can be laid on one line.

import { JOIN_PHASES } from "./protocol.js";

/** The phases of a join, in the order they are expected (protocol/widget-wire.js). */
export const PHASES = JOIN_PHASES;

/** @typedef {typeof PHASES[number]} Phase */
/** @typedef {Partial<Record<Phase, number>>} TimelineRecord  epoch ms of each phase reached */

/** How often to look for the first decoded frame (getStats of the video receivers). */
const FRAME_POLL_MS = 50;
/** Give up looking for a first frame after this long (nobody sends video). */
const FRAME_WATCH_MS = 120000;

/** @returns {number} now, epoch ms with sub-millisecond precision */
export function epochMs() {
  return performance.timeOrigin + performance.now();
}

export class Timeline {
  /** @type {TimelineRecord} */ #at = {};
  /** @type {() => void} */ #onChange;
  /** @type {ReturnType<typeof setInterval> | undefined} */ #framePoll;

  /** @param {() => void} onChange  a phase was reached */
  constructor(onChange) {
    this.#onChange = onChange;
  }

  /**
   * Note that `phase` happened at `at` (now by default); only its first time counts.
   * @param {Phase} phase @param {number} [at]
   */
  mark(phase, at = epochMs()) {
    if (this.#at[phase] !== undefined) return;
    this.#at[phase] = Math.round(at * 10) / 10;
    if (phase === "frame") this.#stopWatching();
    this.#onChange();
  }

  /** A new join: the phases from `target` on start again; the cell and render stay. */
  restart() {
    this.#stopWatching();
    const { cell, rendered } = this.#at;
    this.#at = {};
    if (cell !== undefined) this.#at.cell = cell;
    if (rendered !== undefined) this.#at.rendered = rendered;
  }

  /** @returns {Readonly<TimelineRecord>} the phases reached so far */
  record() {
    return Object.freeze({ ...this.#at });
  }

  /**
   * Look for the first remote video frame decoded on any link (framesDecoded of the
   * video receivers' inbound-rtp), a few times a second until one comes.
   * @param {() => Iterable<{ pc: RTCPeerConnection }>} links
   */
  watchFirstFrame(links) {
    if (this.#at.frame !== undefined || this.#framePoll !== undefined) return;
    const started = Date.now();
    let busy = false;
    this.#framePoll = setInterval(async () => {
      if (busy) return;
      if (Date.now() - started > FRAME_WATCH_MS) {
        this.#stopWatching();
        return;
      }
      busy = true;
      try {
        for (const link of links()) {
          // No frame comes before the connection does: no getStats while the pages are
          // still busy negotiating.
          if (link.pc.connectionState !== "connected") continue;
          for (const receiver of link.pc.getReceivers()) {
            if (receiver.track.kind !== "video") continue;
            const report = await receiver.getStats();
            report.forEach((entry) => {
              if (entry.type === "inbound-rtp" && entry.framesDecoded > 0) this.mark("frame");
            });
          }
        }
      } catch (error) {
        // A link closed under us: the next poll looks at the links there are then.
        console.info("nbconference: looking for the first frame", error);
      } finally {
        busy = false;
      }
    }, FRAME_POLL_MS);
  }

  #stopWatching() {
    clearInterval(this.#framePoll);
    this.#framePoll = undefined;
  }

  stop() {
    this.#stopWatching();
  }
}
