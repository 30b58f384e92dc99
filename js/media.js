// @ts-check
// Camera, microphone and screen capture, with failures turned into sentences.

const CAMERA_CONSTRAINTS = {
  width: { ideal: 640 },
  height: { ideal: 360 },
  frameRate: { ideal: 24, max: 30 },
};
const MICROPHONE_CONSTRAINTS = { echoCancellation: true, noiseSuppression: true };

/** Why the page cannot capture at all, or "" when it can. */
export function captureUnavailableReason() {
  if (!globalThis.isSecureContext) {
    return "This page is not secure (it is neither https nor localhost), so the browser offers no camera or microphone.";
  }
  if (!navigator.mediaDevices?.getUserMedia) {
    return "This browser offers no camera or microphone to this page.";
  }
  return "";
}

/**
 * @param {unknown} error
 * @param {string} what  "camera", "microphone", "camera and microphone" or "screen"
 */
export function explainMediaError(error, what) {
  const name = error instanceof Error || error instanceof DOMException ? error.name : "";
  const detail = error instanceof Error ? error.message : String(error);
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return what === "screen"
        ? "Screen sharing was cancelled or is not allowed."
        : `Permission to use the ${what} was denied (allow it in the browser's site settings).`;
    case "NotFoundError":
    case "OverconstrainedError":
      return what === "screen" ? "No screen to share was found." : `No ${what} was found.`;
    case "NotReadableError":
    case "AbortError":
      return `The ${what} is in use by another application or could not be started.`;
    default:
      return `Could not use the ${what}: ${detail}`;
  }
}

/**
 * @typedef {object} Acquired
 * @property {MediaStreamTrack | null} audio
 * @property {MediaStreamTrack | null} video
 * @property {string} audioError  why the microphone we asked for is missing, else ""
 * @property {string} videoError  why the camera we asked for is missing, else ""
 */

/**
 * The constraints for one device: `deviceId` (devices.js) exactly when the person just
 * chose it, else as a preference that falls back to the default when it is gone.
 * @param {"audio" | "video"} kind @param {string} deviceId  "" for the default
 * @param {boolean} exact
 * @returns {MediaTrackConstraints}
 */
function constraintsFor(kind, deviceId, exact) {
  const base = kind === "audio" ? MICROPHONE_CONSTRAINTS : CAMERA_CONSTRAINTS;
  if (!deviceId) return base;
  return { ...base, deviceId: exact ? { exact: deviceId } : { ideal: deviceId } };
}

/** @typedef {{ audio?: string, video?: string, exact?: boolean }} DeviceIds */

/**
 * Ask for what is wanted; when asking for both fails, try each alone so a missing camera
 * does not cost the microphone.
 * @param {{ audio: boolean, video: boolean }} want
 * @param {DeviceIds} [ids]  the devices to use ("" or none: the default)
 * @returns {Promise<Acquired>}
 */
export async function acquireUserMedia(want, ids = {}) {
  const exact = ids.exact === true;
  const audioConstraints = constraintsFor("audio", ids.audio ?? "", exact);
  const videoConstraints = constraintsFor("video", ids.video ?? "", exact);
  /** @type {Acquired} */
  const result = { audio: null, video: null, audioError: "", videoError: "" };
  /** @param {string} message */
  const missing = (message) => {
    if (want.audio) result.audioError = message;
    if (want.video) result.videoError = message;
    return result;
  };
  const unavailable = captureUnavailableReason();
  if (unavailable) return missing(unavailable);
  if (!want.audio && !want.video) return result;
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: want.audio && audioConstraints,
      video: want.video && videoConstraints,
    });
    result.audio = stream.getAudioTracks()[0] ?? null;
    result.video = stream.getVideoTracks()[0] ?? null;
    return result;
  } catch (error) {
    const name = error instanceof Error || error instanceof DOMException ? error.name : "";
    // A refusal covers both devices (one prompt); a missing device is worth a retry alone.
    if (!(want.audio && want.video) || name === "NotAllowedError" || name === "SecurityError") {
      const what =
        want.audio && want.video ? "camera and microphone" : want.audio ? "microphone" : "camera";
      return missing(explainMediaError(error, what));
    }
  }
  for (const kind of /** @type {const} */ (["audio", "video"])) {
    const what = kind === "audio" ? "microphone" : "camera";
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        [kind]: kind === "audio" ? audioConstraints : videoConstraints,
      });
      result[kind] = stream.getTracks()[0] ?? null;
    } catch (error) {
      result[kind === "audio" ? "audioError" : "videoError"] = explainMediaError(error, what);
    }
  }
  return result;
}

/**
 * @param {string} [deviceId]  "" for the default (or the preferred one, see DeviceIds)
 * @param {boolean} [exact]  that device or none
 * @returns {Promise<MediaStreamTrack>} a camera track; throws an Error with a readable message
 */
export async function acquireCamera(deviceId = "", exact = false) {
  const result = await acquireUserMedia({ audio: false, video: true }, { video: deviceId, exact });
  if (!result.video) throw new Error(result.videoError || "No camera was found.");
  return result.video;
}

/**
 * @param {string} [deviceId]  "" for the default (or the preferred one, see DeviceIds)
 * @param {boolean} [exact]  that device or none
 * @returns {Promise<MediaStreamTrack>} a microphone track; throws with a readable message
 */
export async function acquireMicrophone(deviceId = "", exact = false) {
  const result = await acquireUserMedia({ audio: true, video: false }, { audio: deviceId, exact });
  if (!result.audio) throw new Error(result.audioError || "No microphone was found.");
  return result.audio;
}

/** @returns {Promise<MediaStream>} the screen, window or tab the user picked */
export async function acquireScreen() {
  if (!navigator.mediaDevices?.getDisplayMedia) {
    throw new Error(captureUnavailableReason() || "This browser cannot share the screen.");
  }
  try {
    const stream = await navigator.mediaDevices.getDisplayMedia({
      video: { frameRate: { ideal: 15, max: 30 } },
      audio: false,
    });
    const track = stream.getVideoTracks()[0];
    // Text stays sharp: the encoder drops frames rather than resolution.
    if (track && "contentHint" in track) track.contentHint = "detail";
    return stream;
  } catch (error) {
    throw new Error(explainMediaError(error, "screen"));
  }
}
