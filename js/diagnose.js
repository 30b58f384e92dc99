// @ts-check
// The connection check of one browser, run for real: the page's secure context, its
// camera and microphone permissions, a signaling round trip, and a relay allocated from
// each TURN server the signaling server gave, alone. diagnosis.js shapes what they find
// into the report and its advice.

import { diagnosisReport, linkChecks, TURN_TIMEOUT_MS, turnTargets } from "./diagnosis.js";

/**
 * @typedef {import("./diagnosis.js").Diagnosis} Diagnosis
 * @typedef {import("./diagnosis.js").TurnCheck} TurnCheck
 * @typedef {import("./diagnosis.js").TurnTarget} TurnTarget
 * @typedef {import("./diagnosis.js").PermissionState} PermissionState
 *
 * @typedef {object} DiagnosisSources  what the call knows already (nothing measured twice)
 * @property {() => Promise<import("./diagnosis.js").SignalingCheck>} ping  the signaling
 *   round trip (signaling.js), or why there is none
 * @property {readonly RTCIceServer[]} iceServers  the server's current word, credentials too
 * @property {() => Readonly<Record<string, Partial<import("./stats.js").PeerStats>>>} stats
 *   the last stats sample, by peer id
 * @property {() => readonly { id: string, name: string, connection?: string, problem?: string }[]} peers
 *   the remote peers, with their links' state
 * @property {import("./devices.js").DeviceReport} devices
 */

/**
 * Whether this site may use `name`, as navigator.permissions says where it can.
 * @param {"camera" | "microphone"} name
 * @returns {Promise<PermissionState>}
 */
async function permission(name) {
  const permissions = globalThis.navigator?.permissions;
  if (!permissions) return "unknown";
  try {
    const status = await permissions.query({ name: /** @type {PermissionName} */ (name) });
    const { state } = status;
    return state === "granted" || state === "denied" || state === "prompt" ? state : "unknown";
  } catch {
    // Firefox knows no "camera" permission name: the browser cannot tell.
    return "unknown";
  }
}

/**
 * Allocate a relay on one TURN server, alone: a connection that may use only relayed
 * candidates of only that server, gathering for a data channel. It succeeds when a relay
 * candidate appears; it fails when the server refuses the credentials (401), or when no
 * relay came by the end of gathering or within `timeoutMs`, with the last error seen.
 * @param {TurnTarget} target
 * @param {number} [timeoutMs]
 * @returns {Promise<TurnCheck>}
 */
export function probeTurn(target, timeoutMs = TURN_TIMEOUT_MS) {
  const started = performance.now();
  /** @type {TurnCheck} */
  const result = {
    url: target.url,
    ok: false,
    protocol: null,
    relay_protocol: null,
    ms: null,
    error_code: null,
    error: "",
  };
  return new Promise((resolve) => {
    /** @type {RTCPeerConnection} */
    let pc;
    try {
      pc = new RTCPeerConnection({
        iceServers: [{ urls: target.url, username: target.username, credential: target.credential }],
        iceTransportPolicy: "relay",
      });
    } catch (error) {
      resolve({ ...result, error: error instanceof Error ? error.message : String(error) });
      return;
    }
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      pc.close();
      resolve(result);
    };
    const timer = setTimeout(() => {
      result.error ||= `no relay within ${timeoutMs / 1000} s`;
      finish();
    }, timeoutMs);
    pc.addEventListener("icecandidate", (event) => {
      const candidate = event.candidate;
      if (candidate === null) {
        // Gathering is over without a relay: the last error says why, if any came.
        result.error ||= "the TURN server gave no relay";
        finish();
        return;
      }
      if (candidate.type !== "relay") return;
      result.ok = true;
      result.protocol = candidate.protocol ?? null;
      result.relay_protocol = /** @type {{ relayProtocol?: string }} */ (candidate).relayProtocol ?? null;
      result.ms = Math.round(performance.now() - started);
      result.error_code = null;
      result.error = "";
      finish();
    });
    pc.addEventListener("icecandidateerror", (event) => {
      const error = /** @type {RTCPeerConnectionIceErrorEvent} */ (event);
      result.error_code = error.errorCode;
      result.error = error.errorText || `error ${error.errorCode}`;
      // Wrong credentials will not come right by waiting; other errors may be one
      // network interface of several, so gathering goes on.
      if (error.errorCode === 401) finish();
    });
    pc.createDataChannel("diagnosis");
    pc.createOffer()
      .then((offer) => pc.setLocalDescription(offer))
      .catch((/** @type {unknown} */ error) => {
        result.error = `could not start gathering: ${error instanceof Error ? error.message : error}`;
        finish();
      });
  });
}

/**
 * Run every check (the TURN servers and the signaling round trip at once) and shape the
 * report.
 * @param {DiagnosisSources} sources
 * @returns {Promise<Diagnosis>}
 */
export async function runDiagnosis(sources) {
  const [camera, microphone, signaling, turn] = await Promise.all([
    permission("camera"),
    permission("microphone"),
    sources.ping(),
    Promise.all(turnTargets(sources.iceServers).map((target) => probeTurn(target))),
  ]);
  return diagnosisReport(
    {
      secure_context: globalThis.isSecureContext === true,
      permissions: { camera, microphone },
      devices: sources.devices,
      signaling,
      turn,
      // Read after the checks: the freshest sample stats.js has.
      links: linkChecks(sources.stats(), sources.peers()),
    },
    Date.now(),
  );
}

/**
 * The connection check of one call: the one under way, if any (a check asked for while
 * one runs is that one), and the last finished.
 */
export class Checkup {
  /** @type {() => DiagnosisSources} */ #sources;
  /** @type {(report: Diagnosis) => void} */ #finished;
  /** @type {() => void} */ #changed;
  /** @type {Promise<Diagnosis> | null} the check under way */
  #running = null;
  /** @type {Diagnosis | null} the last finished check */
  #last = null;

  /**
   * @param {() => DiagnosisSources} sources  what the call knows, as of the check's start
   * @param {(report: Diagnosis) => void} finished  a check finished: tell the kernel
   * @param {() => void} changed  the call's snapshot changed
   */
  constructor(sources, finished, changed) {
    this.#sources = sources;
    this.#finished = finished;
    this.#changed = changed;
  }

  /** Run a check, or join the one under way. @returns {Promise<Diagnosis>} */
  run() {
    if (this.#running) return this.#running;
    this.#running = runDiagnosis(this.#sources())
      .then((report) => {
        this.#last = report;
        this.#finished(report);
        return report;
      })
      .finally(() => {
        this.#running = null;
        this.#changed();
      });
    this.#changed();
    return this.#running;
  }

  /** For the snapshot: whether a check runs, and the last report. */
  snapshot() {
    return Object.freeze({ running: this.#running !== null, report: this.#last });
  }
}
