// @ts-check
// What our camera and screen share may cost on each link: the pure rules. A full mesh
// encodes our camera once per peer, so each copy must fit what its receiver shows (its
// request, see protocol.js), a budget that tightens as the room grows, and the CPU the
// encoders have; sending.js applies the plans with RTCRtpSender.setParameters.
import { scaleFor } from "./protocol.js";

/**
 * The camera's height per link by room size (we count too): 640×360 up to 4 people,
 * 480×270 up to 6, 320×180 beyond. It rises again as people leave.
 */
export const ROOM_BUDGETS = Object.freeze([
  Object.freeze({ upTo: 4, height: 360 }),
  Object.freeze({ upTo: 6, height: 270 }),
  Object.freeze({ upTo: Infinity, height: 180 }),
]);

/** While we share a screen, our camera is a thumbnail beside it on every link. */
export const SHARING_CAMERA_HEIGHT = 180;

/** A screen share keeps its resolution; its frame rate is capped instead. */
export const SCREEN_FPS = 15;

/**
 * Bitrate that a camera picture of a given height needs at most (the first row at or
 * above it applies): smaller pictures need less, so a thumbnail leaves room for others.
 * @type {readonly { height: number, bitrate: number }[]}
 */
const BITRATE_BY_HEIGHT = Object.freeze([
  { height: 90, bitrate: 80_000 },
  { height: 135, bitrate: 150_000 },
  { height: 180, bitrate: 250_000 },
  { height: 270, bitrate: 450_000 },
  { height: 360, bitrate: 700_000 },
  { height: 540, bitrate: 1_200_000 },
]);

/**
 * The steps taken while the encoders report `qualityLimitationReason === "cpu"`, one per
 * level. Cameras give up frame rate first, then resolution; screens keep their frame rate
 * cap and give up resolution (text is read, not watched).
 * @type {readonly { fps: number | null, scale: number }[]}
 */
export const CAMERA_CPU_STEPS = Object.freeze([
  { fps: null, scale: 1 },
  { fps: 20, scale: 1 },
  { fps: 15, scale: 1 },
  { fps: 10, scale: 1 },
  { fps: 10, scale: 1.5 },
  { fps: 10, scale: 2 },
]);
/** @type {readonly { fps: number | null, scale: number }[]} */
export const SCREEN_CPU_STEPS = Object.freeze([
  { fps: null, scale: 1 },
  { fps: null, scale: 1.5 },
  { fps: null, scale: 2 },
]);

/**
 * Camera bitrate towards each peer: a full mesh sends one copy per peer, and a copy
 * needs no more than its picture's height calls for.
 * @param {number} peerCount  remote peers
 * @param {number} [height]  of the picture sent, when known
 */
export function videoBitrateFor(peerCount, height = Infinity) {
  const share = Math.round(
    Math.max(250_000, Math.min(1_200_000, 2_400_000 / Math.max(1, peerCount))),
  );
  const row = BITRATE_BY_HEIGHT.find((r) => r.height >= height);
  return row ? Math.min(share, row.bitrate) : share;
}

/**
 * The camera height each link may have in a room of `roomSize` (us included); the
 * active speaker gets the next larger row.
 * @param {number} roomSize @param {boolean} [speaking]
 */
export function roomHeight(roomSize, speaking = false) {
  const row = ROOM_BUDGETS.findIndex((budget) => roomSize <= budget.upTo);
  const index = Math.max(0, (row === -1 ? ROOM_BUDGETS.length - 1 : row) - (speaking ? 1 : 0));
  return /** @type {{ height: number }} */ (ROOM_BUDGETS[index]).height;
}

/**
 * @typedef {"receiver" | "room" | "screen" | "cpu" | "bandwidth"} LimitReason  why a
 *   link gets less than we capture: what its receiver shows, the room's size, our own
 *   screen share, our CPU, or (measured, not planned) the network
 *
 * @typedef {object} SendPlan  how to encode one of our tracks for one peer
 * @property {boolean} active  false: encode nothing for this peer
 * @property {number} scaleResolutionDownBy
 * @property {number | null} maxBitrate  bits per second; null: the browser's choice
 * @property {number | null} maxFramerate  null: as captured
 * @property {RTCDegradationPreference | null} degradationPreference  null: the browser's
 * @property {number} height  the picture's height after scaling (0 while not active)
 * @property {LimitReason | null} limit  why the link gets less than we capture, if it does
 *
 * @typedef {object} CameraInputs
 * @property {number} peers  remote peers in the room
 * @property {number} sourceHeight  of the camera as captured (0 when unknown)
 * @property {number | null} shown  the receiver's request; null before it said anything
 * @property {number} cpuLevel  an index into CAMERA_CPU_STEPS
 * @property {boolean} sharing  our screen share is on
 * @property {boolean} speaking  we are the active speaker
 */

/** The height cameras are assumed to capture before the track says (CAMERA_CONSTRAINTS). */
const DEFAULT_SOURCE_HEIGHT = 360;

/**
 * Our camera towards one peer.
 * @param {CameraInputs} inputs
 * @returns {SendPlan}
 */
export function cameraPlan(inputs) {
  const source = inputs.sourceHeight || DEFAULT_SOURCE_HEIGHT;
  const step = cpuStep(CAMERA_CPU_STEPS, inputs.cpuLevel);
  /** @type {[LimitReason, number][]} caps in order of precedence when equal */
  const caps = [["room", roomHeight(inputs.peers + 1, inputs.speaking)]];
  if (inputs.shown !== null && inputs.shown > 0) {
    caps.unshift(["receiver", source / scaleFor(source, inputs.shown)]);
  }
  if (inputs.sharing) caps.push(["screen", SHARING_CAMERA_HEIGHT]);
  if (step.scale > 1) caps.push(["cpu", source / step.scale]);
  let height = source;
  /** @type {LimitReason | null} */
  let limit = null;
  for (const [reason, cap] of caps) {
    if (cap < height) {
      height = cap;
      limit = reason;
    }
  }
  if (!limit && step.fps !== null) limit = "cpu";
  const paused = inputs.shown === 0;
  return {
    active: !paused,
    scaleResolutionDownBy: Math.round((source / height) * 1000) / 1000,
    maxBitrate: videoBitrateFor(inputs.peers, height),
    maxFramerate: step.fps,
    degradationPreference: null,
    height: paused ? 0 : Math.round(height),
    limit: paused ? "receiver" : limit,
  };
}

/**
 * Our screen share towards one peer: full resolution at SCREEN_FPS, nothing to a peer
 * that shows none of it.
 * @param {{ shown: number | null, cpuLevel: number, sourceHeight: number }} inputs
 * @returns {SendPlan}
 */
export function screenPlan(inputs) {
  const step = cpuStep(SCREEN_CPU_STEPS, inputs.cpuLevel);
  const paused = inputs.shown === 0;
  return {
    active: !paused,
    scaleResolutionDownBy: step.scale,
    maxBitrate: null,
    maxFramerate: SCREEN_FPS,
    degradationPreference: "maintain-resolution",
    height: paused ? 0 : Math.round(inputs.sourceHeight / step.scale),
    limit: paused ? "receiver" : step.scale > 1 ? "cpu" : null,
  };
}

/**
 * @param {readonly { fps: number | null, scale: number }[]} steps @param {number} level
 * @returns {{ fps: number | null, scale: number }}
 */
function cpuStep(steps, level) {
  const index = Math.max(0, Math.min(steps.length - 1, Math.floor(level)));
  return /** @type {{ fps: number | null, scale: number }} */ (steps[index]);
}

/**
 * Why a link gets less than we capture, as the stats say it: the network when the
 * encoder says so (our plan cannot know), else what we planned, else the CPU when the
 * encoder says so before we have stepped down.
 * @param {LimitReason | null} planned
 * @param {string | null | undefined} measured  outbound-rtp qualityLimitationReason
 * @returns {LimitReason | null}
 */
export function sendLimit(planned, measured) {
  if (measured === "bandwidth") return "bandwidth";
  if (planned) return planned;
  return measured === "cpu" ? "cpu" : null;
}

/**
 * Steps the encoders down while they say they lack CPU, and back up slowly: down after
 * DOWN_AFTER_MS of "cpu", up after `upAfter` without it; `upAfter` doubles (to
 * MAX_UP_AFTER_MS) each time a step up brought "cpu" straight back, and is reset once
 * all steps are undone.
 */
export class CpuGovernor {
  static DOWN_AFTER_MS = 2000;
  static UP_AFTER_MS = 10_000;
  static MAX_UP_AFTER_MS = 80_000;

  /** @param {number} levels  how many steps there are (CAMERA_CPU_STEPS.length) */
  constructor(levels) {
    this.maxLevel = levels - 1;
    this.level = 0;
    this.upAfter = CpuGovernor.UP_AFTER_MS;
    /** @type {number | null} */ this.cpuSince = null;
    /** @type {number | null} */ this.calmSince = null;
    this.lastChange = -Infinity;
    this.lastUp = -Infinity;
  }

  /**
   * One sample of the encoders.
   * @param {boolean} cpu  they said "cpu" (most of those encoding)
   * @param {number} now  milliseconds
   * @returns {boolean} the level changed
   */
  sample(cpu, now) {
    const { DOWN_AFTER_MS } = CpuGovernor;
    if (cpu) {
      this.calmSince = null;
      this.cpuSince ??= now;
      const settled = now - this.lastChange >= DOWN_AFTER_MS;
      if (this.level < this.maxLevel && now - this.cpuSince >= DOWN_AFTER_MS && settled) {
        if (now - this.lastUp < 2 * this.upAfter) {
          this.upAfter = Math.min(2 * this.upAfter, CpuGovernor.MAX_UP_AFTER_MS);
        }
        this.level += 1;
        this.lastChange = now;
        this.cpuSince = now;
        return true;
      }
      return false;
    }
    this.cpuSince = null;
    this.calmSince ??= now;
    const calm = now - this.calmSince >= this.upAfter && now - this.lastChange >= this.upAfter;
    if (this.level > 0 && calm) {
      this.level -= 1;
      this.lastChange = now;
      this.lastUp = now;
      this.calmSince = now;
      if (this.level === 0) this.upAfter = CpuGovernor.UP_AFTER_MS;
      return true;
    }
    return false;
  }
}

/**
 * The simulcast layers of a camera through the SFU, lowest first, as fractions of its
 * capture (publisher.js sends 1/4, 1/2 and all of it; Janus' substreams 0, 1, 2).
 */
export const SUBSTREAM_SCALES = Object.freeze([4, 2, 1]);

/**
 * How many of the simulcast layers a browser really sends of a camera this high: libwebrtc
 * (Chromium, and so most people) drops the lowest ones of a small capture, sending all
 * three from 540 p, two from 270 p, one below. The SFU cannot forward a layer it never gets.
 * @param {number} sourceHeight
 */
export function layersSent(sourceHeight) {
  if (sourceHeight >= 540) return 3;
  return sourceHeight >= 270 ? 2 : 1;
}

/**
 * The simulcast layer a receiver asks the SFU for, to show a camera `shown` device
 * pixels high: the lowest whose picture is at least 3/4 that high (a little upscaling
 * does not show), the top one for anything larger, and never one below those the
 * publisher's browser sends (layersSent). null: not shown at all, so no video.
 * @param {number} shown  the tile's height (0: not in sight)
 * @param {number} [sourceHeight]  of the camera as captured, when known
 * @returns {0 | 1 | 2 | null}
 */
export function substreamFor(shown, sourceHeight = DEFAULT_SOURCE_HEIGHT) {
  if (shown <= 0) return null;
  const top = SUBSTREAM_SCALES.length - 1;
  const lowest = SUBSTREAM_SCALES.length - layersSent(sourceHeight);
  const index = SUBSTREAM_SCALES.findIndex((scale) => sourceHeight / scale >= shown * 0.75);
  return /** @type {0 | 1 | 2} */ (Math.max(lowest, index === -1 ? top : index));
}
