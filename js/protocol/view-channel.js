// @ts-check
// Between peers, not through the server (src/nbconference/protocol/view_channel.py):
// each receiver tells each sender how large it shows the sender's camera and screen, on
// an RTCDataChannel of their peer connection (docs/protocol.md, "What a receiver shows").

import { isObject } from "./read.js";

/** The label of that channel; the side that makes the first offer opens it. */
export const VIEW_CHANNEL = "nbc-view";
/** The `type` of its one message. */
export const VIEW_REQUEST = "view";
/** Heights are read up to this; a receiver that wants the whole picture asks for it. */
export const MAX_VIEW_HEIGHT = 4320;
/** Characters; a longer message is not a request. */
export const MAX_VIEW_MESSAGE = 256;
/**
 * The scaleResolutionDownBy steps a sender picks from: it sends the smallest picture at
 * least as high as the receiver shows, so at most one step above the asked height.
 */
export const SCALE_STEPS = Object.freeze([1, 1.5, 2, 3, 4, 6, 8]);

/**
 * @typedef {{ camera: number, screen: number }} Shown  heights in device pixels at which a
 *   receiver shows a sender's camera and screen share; 0 when it shows none
 */

/** @param {Shown} shown @returns {string} the message, as sent on the channel */
export function viewRequest(shown) {
  /** @param {number} height */
  const clamp = (height) => Math.max(0, Math.min(MAX_VIEW_HEIGHT, Math.round(height) || 0));
  return JSON.stringify({ type: VIEW_REQUEST, camera: clamp(shown.camera), screen: clamp(shown.screen) });
}

/**
 * A message from the channel; null when it is not a request we can read.
 * @param {unknown} data
 * @returns {Shown | null}
 */
export function readViewRequest(data) {
  if (typeof data !== "string" || data.length > MAX_VIEW_MESSAGE) return null;
  /** @type {unknown} */
  let value;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObject(value) || value.type !== VIEW_REQUEST) return null;
  /** @param {unknown} height */
  const read = (height) =>
    typeof height === "number" && Number.isFinite(height)
      ? Math.max(0, Math.min(MAX_VIEW_HEIGHT, Math.round(height)))
      : null;
  const camera = read(value.camera);
  const screen = read(value.screen);
  return camera === null || screen === null ? null : { camera, screen };
}

/**
 * The step to scale a picture `sourceHeight` high by, for a receiver showing it `shown`
 * high (shown > 0): the largest of SCALE_STEPS that keeps it at least that high.
 * @param {number} sourceHeight @param {number} shown
 */
export function scaleFor(sourceHeight, shown) {
  let chosen = 1;
  for (const step of SCALE_STEPS) if (sourceHeight / step >= shown) chosen = step;
  return chosen;
}
