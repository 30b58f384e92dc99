// @ts-check
// The connection check of one browser (`w.diagnose()` in the kernel, or the ⓘ panel):
// the pure part. What the checks found (diagnose.js runs them) is shaped here into the
// report the kernel hears, field for field DIAGNOSIS_FIELDS, with a plain sentence of
// advice for each thing that fails. Nothing here touches the browser, so Node tests it.

/** How long a TURN server has to hand out a relay before it counts as out of reach. */
export const TURN_TIMEOUT_MS = 5000;
/** The signaling check of a page not in the call (before joining, after leaving): no
 * socket to time, which is no fault of the server's. */
export const SIGNALING_NOT_MEASURED = "not in the call: join to measure it";

/**
 * @typedef {"granted" | "denied" | "prompt" | "unknown"} PermissionState
 * @typedef {{ camera: PermissionState, microphone: PermissionState }} Permissions
 * @typedef {import("./devices.js").DeviceReport} DeviceReport
 * @typedef {{ rtt_ms: number } | { error: string }} SignalingCheck  its round trip, or why not
 *
 * @typedef {object} TurnTarget  one TURN URL of the server's `ice_servers`, to try alone
 * @property {string} url
 * @property {string} username
 * @property {string} credential
 *
 * @typedef {object} TurnCheck  one allocation attempt (never the credentials)
 * @property {string} url
 * @property {boolean} ok  a relay candidate came
 * @property {string | null} protocol  the relay candidate's protocol (udp)
 * @property {string | null} relay_protocol  how we reached the TURN server: udp, tcp, tls
 * @property {number | null} ms  how long the relay took to come
 * @property {number | null} error_code  the icecandidateerror's code (401: bad credentials)
 * @property {string} error  why it failed, "" when it did not
 *
 * @typedef {object} LinkCheck  one link's route and quality, as the last stats sample says
 * @property {string} id  the remote peer
 * @property {string} name
 * @property {string} connection  RTCPeerConnection.connectionState
 * @property {string | null} route
 * @property {string | null} route_protocol
 * @property {string | null} relay_protocol
 * @property {string | null} local_address_type
 * @property {string | null} remote_address_type
 * @property {number | null} rtt_ms
 * @property {number | null} fps_in
 * @property {number | null} loss_pct
 * @property {string | null} quality
 * @property {string} problem  why the link does not work, "" when it does
 *
 * @typedef {object} Findings  what the checks found, before the advice
 * @property {boolean} secure_context
 * @property {Permissions} permissions
 * @property {DeviceReport} devices
 * @property {SignalingCheck} signaling
 * @property {TurnCheck[]} turn
 * @property {LinkCheck[]} links
 *
 * @typedef {Findings & { finished_at: number, advice: string[] }} Diagnosis
 */

/**
 * Each TURN URL of the server's ICE servers, with its credentials, to be tried alone
 * (STUN URLs are not TURN servers and are left out).
 * @param {readonly RTCIceServer[]} iceServers
 * @returns {TurnTarget[]}
 */
export function turnTargets(iceServers) {
  /** @type {TurnTarget[]} */
  const targets = [];
  for (const server of iceServers) {
    const urls = typeof server.urls === "string" ? [server.urls] : [...(server.urls ?? [])];
    for (const url of urls) {
      if (!/^turns?:/i.test(url)) continue;
      targets.push({
        url,
        username: String(server.username ?? ""),
        credential: String(server.credential ?? ""),
      });
    }
  }
  return targets;
}

/** @param {unknown} value @returns {number | null} */
function numberOrNull(value) {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** @param {unknown} value @returns {string | null} */
function textOrNull(value) {
  return typeof value === "string" && value ? value : null;
}

/**
 * Each link's route and quality, from the last stats sample (stats.js measured it; this
 * does not measure again) and the roster (who each peer is, and its link's problem).
 * @param {Readonly<Record<string, Partial<import("./stats.js").PeerStats>>>} stats
 * @param {readonly { id: string, name: string, connection?: string, problem?: string }[]} peers
 * @returns {LinkCheck[]}
 */
export function linkChecks(stats, peers) {
  return peers.map((peer) => {
    const record = stats[peer.id] ?? {};
    return {
      id: peer.id,
      name: peer.name,
      connection: String(record.connection ?? peer.connection ?? "new"),
      route: textOrNull(record.route),
      route_protocol: textOrNull(record.route_protocol),
      relay_protocol: textOrNull(record.relay_protocol),
      local_address_type: textOrNull(record.local_address_type),
      remote_address_type: textOrNull(record.remote_address_type),
      rtt_ms: numberOrNull(record.rtt_ms),
      fps_in: numberOrNull(record.fps_in),
      loss_pct: numberOrNull(record.loss_pct),
      quality: textOrNull(record.quality),
      problem: String(peer.problem ?? ""),
    };
  });
}

/**
 * A plain sentence for each thing that fails, in the order a person would fix them.
 * @param {Findings} found
 * @returns {string[]}
 */
export function adviceFor(found) {
  /** @type {string[]} */
  const advice = [];
  if (!found.secure_context) {
    advice.push(
      "This page is not a secure context, so the browser gives it no camera or " +
        "microphone: open Jupyter over https, or at localhost.",
    );
  }
  for (const device of /** @type {const} */ (["camera", "microphone"])) {
    if (found.permissions[device] === "denied") {
      advice.push(
        `The ${device} is blocked for this site: allow it in the browser (the ${device} ` +
          "icon in the address bar, or the site's settings), then reload the page.",
      );
    }
  }
  const { counts } = found.devices;
  if (counts.camera === 0) {
    advice.push("No camera was found: plug one in, or close the program that holds it.");
  }
  if (counts.microphone === 0) {
    advice.push("No microphone was found: plug one in, or check the system's sound settings.");
  }
  if ("error" in found.signaling && found.signaling.error !== SIGNALING_NOT_MEASURED) {
    advice.push(
      `The signaling server cannot be reached (${found.signaling.error}): nobody can join ` +
        "the call from here until it can.",
    );
  }
  for (const turn of found.turn) {
    if (turn.ok) continue;
    if (turn.error_code === 401) {
      advice.push(
        `The TURN server ${turn.url} refused our credentials (401): its static-auth-secret ` +
          "and c.NBConference.turn_secret differ.",
      );
    } else {
      const why = turn.error_code ? `${turn.error_code} ${turn.error}` : turn.error;
      advice.push(
        `The TURN server ${turn.url} cannot be reached (${why}): check that it runs and ` +
          "that this network lets its port through.",
      );
    }
  }
  for (const link of found.links) {
    if (link.problem) advice.push(link.problem);
    else if (link.connection === "failed") {
      advice.push(`There is no network path to ${link.name || "a peer"}: its link failed.`);
    }
  }
  return advice;
}

/**
 * The report the kernel hears: the findings, when they were finished, and the advice,
 * with exactly the fields of DIAGNOSIS_FIELDS.
 * @param {Findings} found
 * @param {number} finishedAtMs  epoch ms
 * @returns {Diagnosis}
 */
export function diagnosisReport(found, finishedAtMs) {
  return {
    finished_at: Math.round(finishedAtMs) / 1000,
    secure_context: found.secure_context,
    permissions: found.permissions,
    devices: found.devices,
    signaling: found.signaling,
    turn: found.turn,
    links: found.links,
    advice: adviceFor(found),
  };
}

/**
 * The report in short lines for the ⓘ panel: what was checked, what it found, and
 * whether that is fine.
 * @param {Diagnosis} report
 * @returns {{ label: string, text: string, ok: boolean }[]}
 */
export function summaryLines(report) {
  const { permissions, devices, signaling } = report;
  const lines = [
    {
      label: "Secure page",
      text: report.secure_context ? "yes" : "no (no camera or microphone)",
      ok: report.secure_context,
    },
    {
      label: "Permissions",
      text: `camera ${permissions.camera}, microphone ${permissions.microphone}`,
      ok: permissions.camera !== "denied" && permissions.microphone !== "denied",
    },
    {
      label: "Devices",
      text:
        `${devices.counts.camera} camera(s), ${devices.counts.microphone} microphone(s), ` +
        `${devices.counts.speaker} speaker(s)` +
        (devices.in_use.length ? `; using ${devices.in_use.map((d) => d.label).join(", ")}` : ""),
      ok: devices.counts.camera > 0 && devices.counts.microphone > 0,
    },
    {
      label: "Signaling",
      text: "error" in signaling ? signaling.error : `round trip ${signaling.rtt_ms} ms`,
      ok: !("error" in signaling),
    },
  ];
  if (!report.turn.length) lines.push({ label: "TURN", text: "none configured", ok: true });
  for (const turn of report.turn) {
    const text = turn.ok
      ? `relay over ${turn.protocol ?? "?"} in ${turn.ms} ms`
      : `${turn.error_code ? `${turn.error_code} ` : ""}${turn.error}`;
    lines.push({ label: `TURN ${turn.url}`, text, ok: turn.ok });
  }
  for (const link of report.links) {
    const parts = [link.route ? `route ${link.route}` : `not connected (${link.connection})`];
    if (link.rtt_ms !== null) parts.push(`rtt ${link.rtt_ms} ms`);
    if (link.fps_in !== null) parts.push(`${link.fps_in} fps`);
    if (link.loss_pct !== null) parts.push(`${link.loss_pct}% lost`);
    lines.push({
      label: `Link to ${link.name || link.id}`,
      text: parts.join(", "),
      ok: !link.problem && link.connection !== "failed",
    });
  }
  return lines;
}
