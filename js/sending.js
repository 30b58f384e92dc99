// @ts-check
// Our camera and screen share on every link, each encoded as its plan says (budget.js)
// through RTCRtpSender.setParameters (applyPlan), so nothing is renegotiated. It also
// watches the encoders: while most say they lack CPU, the plans step down (CpuGovernor).
import {
  CAMERA_CPU_STEPS,
  CpuGovernor,
  SCREEN_CPU_STEPS,
  cameraPlan,
  screenPlan,
} from "./budget.js";

/** How often the encoders' qualityLimitationReason is read. */
const SAMPLE_MS = 1000;

/**
 * @typedef {import("./peer.js").PeerLink} PeerLink
 * @typedef {import("./local-media.js").LocalMedia} LocalMedia
 */

export class Sending {
  /** @type {() => Map<string, PeerLink>} */ #links;
  /** @type {LocalMedia} */ #media;
  #speaking = false;
  #camera = new CpuGovernor(CAMERA_CPU_STEPS.length);
  #screen = new CpuGovernor(SCREEN_CPU_STEPS.length);
  /** @type {ReturnType<typeof setInterval> | undefined} */ #timer;
  #sampling = false;

  /** @param {() => Map<string, PeerLink>} links @param {LocalMedia} media */
  constructor(links, media) {
    this.#links = links;
    this.#media = media;
  }

  /** The CPU steps taken so far, for cameras and for the screen share. */
  get cpuLevels() {
    return { camera: this.#camera.level, screen: this.#screen.level };
  }

  /** We became (or stopped being) the active speaker. @param {boolean} speaking */
  setSpeaking(speaking) {
    if (speaking === this.#speaking) return;
    this.#speaking = speaking;
    this.update();
  }

  /** Plan every link again and apply the plans: something they depend on changed. */
  update() {
    const links = this.#links();
    const peers = links.size;
    const cameraHeight = this.#media.video?.getSettings().height ?? 0;
    const screenTrack = this.#media.screen?.getVideoTracks()[0] ?? null;
    const screenHeight = screenTrack?.getSettings().height ?? 0;
    for (const link of links.values()) {
      const asked = link.asked;
      link.setVideoEncoding(
        cameraPlan({
          peers,
          sourceHeight: cameraHeight,
          shown: asked?.camera ?? null,
          cpuLevel: this.#camera.level,
          sharing: screenTrack !== null,
          speaking: this.#speaking,
        }),
      );
      link.setScreenEncoding(
        screenPlan({
          shown: asked?.screen ?? null,
          cpuLevel: this.#screen.level,
          sourceHeight: screenHeight,
        }),
      );
    }
    this.#watch(peers > 0);
  }

  /** Stop watching the encoders (the call is over). */
  close() {
    this.#watch(false);
  }

  /** @param {boolean} on */
  #watch(on) {
    if (on && this.#timer === undefined) {
      this.#timer = setInterval(() => void this.#sample(), SAMPLE_MS);
    } else if (!on && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Read every active encoder's qualityLimitationReason; step when most say "cpu". */
  async #sample() {
    if (this.#sampling) return;
    this.#sampling = true;
    try {
      /** @type {boolean[]} */ const camera = [];
      /** @type {boolean[]} */ const screen = [];
      await Promise.allSettled(
        [...this.#links().values()].flatMap((link) =>
          /** @type {const} */ ([
            [link.video, camera],
            [link.screen, screen],
          ]).map(async ([transceiver, into]) => {
            const sender = transceiver?.sender;
            if (link.closed || !sender?.track) return;
            const report = await sender.getStats();
            report.forEach((/** @type {RTCStats & Partial<RTCOutboundRtpStreamStats>} */ s) => {
              if (s.type === "outbound-rtp" && s.kind === "video" && s.active !== false) {
                into.push(s.qualityLimitationReason === "cpu");
              }
            });
          }),
        ),
      );
      const now = performance.now();
      const cameraStepped = camera.length > 0 && this.#camera.sample(mostly(camera), now);
      const screenStepped = screen.length > 0 && this.#screen.sample(mostly(screen), now);
      if (cameraStepped || screenStepped) this.update();
    } finally {
      this.#sampling = false;
    }
  }
}

/** @param {boolean[]} votes */
function mostly(votes) {
  return votes.filter(Boolean).length * 2 > votes.length;
}

/**
 * Apply `plan` to `sender`'s only encoding when it differs (no renegotiation).
 * @param {RTCRtpSender | undefined} sender
 * @param {import("./budget.js").SendPlan | null} plan
 */
export async function applyPlan(sender, plan) {
  if (!sender?.track || !plan) return;
  const params = sender.getParameters();
  const encoding = params.encodings?.[0];
  if (!encoding) return;
  let changed = false;
  if (encoding.active !== plan.active) {
    encoding.active = plan.active;
    changed = true;
  }
  if (Math.abs((encoding.scaleResolutionDownBy ?? 1) - plan.scaleResolutionDownBy) > 0.001) {
    encoding.scaleResolutionDownBy = plan.scaleResolutionDownBy;
    changed = true;
  }
  /** @type {["maxBitrate" | "maxFramerate", number | null][]} */
  const limits = [
    ["maxBitrate", plan.maxBitrate],
    ["maxFramerate", plan.maxFramerate],
  ];
  for (const [key, value] of limits) {
    if ((encoding[key] ?? null) === value) continue;
    if (value === null) delete encoding[key];
    else encoding[key] = value;
    changed = true;
  }
  const preference = plan.degradationPreference;
  if (preference && params.degradationPreference !== preference) {
    params.degradationPreference = preference;
    changed = true;
  }
  if (changed) await sender.setParameters(params);
}
