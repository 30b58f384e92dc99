// @ts-check
// What a call measures while it runs: link statistics (for the kernel), each link's
// quality grade (for the tiles' badges) and who is speaking. The loops only report,
// through callbacks; they keep no call state but their own.
import { assessLink } from "./quality.js";
import { startSpeakerLoop } from "./speaker.js";
import { describeRoute, startStatsLoop } from "./stats.js";

/**
 * A new video stream ramps up (bandwidth estimate, encoder) for a few seconds: its
 * frame rate is not held against the link until then.
 */
const VIDEO_WARMUP_MS = 4000;

/** @typedef {import("./quality.js").Grade} Grade */

/** @param {Map<string, Grade>} grades */
function fingerprint(grades) {
  return JSON.stringify([...grades]);
}

/**
 * @typedef {import("./planes.js").MediaLink} MediaLink
 * @typedef {import("./stats.js").PeerStats} PeerStats
 *
 * @typedef {object} MeterSources  what the loops read, each time they sample
 * @property {() => Map<string, MediaLink>} links  remote peers by id
 * @property {() => RTCRtpSender | null} ownVoice  where our microphone is sent from
 * @property {() => number} intervalSeconds  between two stats samples
 * @property {() => string} selfId  our own peer id, the key of our own tile
 * @property {() => boolean} microphoneOn
 *
 * @typedef {object} MeterReports  where the loops report; the caller decides what to keep
 * @property {(stats: Record<string, PeerStats>) => void} onStats  every sample, each
 *   record with its `quality`
 * @property {(grades: Map<string, Grade>) => void} onGrades  when any link's grade changed
 * @property {(speakerId: string) => void} onSpeaker  a new speaker, "" for nobody
 */

/**
 * Start the stats and speaker loops.
 * @param {MeterSources} sources
 * @param {MeterReports} reports
 * @returns {() => void} stop both loops
 */
export function startMeters(sources, reports) {
  /** @type {WeakMap<object, number>} link → when its camera video started */
  const videoSince = new WeakMap();
  /** @type {Map<string, Grade>} */
  let lastGrades = new Map();

  /** @param {Record<string, PeerStats>} stats */
  const grade = (stats) => {
    const now = performance.now();
    /** @type {Map<string, Grade>} */
    const grades = new Map();
    for (const [id, record] of Object.entries(stats)) {
      const link = sources.links().get(id);
      record.quality = null;
      if (!link) continue;
      // A camera turned off (or no video at all) starts the warm-up over; a stall (0 fps)
      // does not: a frozen picture is exactly what the grade must show.
      const cameraOn = link.state.camera !== false;
      if (!cameraOn || record.fps_in === null) videoSince.delete(link);
      else if (record.fps_in > 0 && !videoSince.has(link)) videoSince.set(link, now);
      const since = videoSince.get(link);
      const judgeVideo = since !== undefined && now - since >= VIDEO_WARMUP_MS;
      const result = assessLink(record, judgeVideo);
      record.quality = result?.quality ?? null;
      if (result) grades.set(id, { ...result, route: describeRoute(record) });
    }
    return grades;
  };

  const stopStats = startStatsLoop(sources.links, sources.intervalSeconds, (stats) => {
    const grades = grade(stats);
    reports.onStats(stats);
    // Views redraw for a new grade, not for every sample.
    if (fingerprint(grades) === fingerprint(lastGrades)) return;
    lastGrades = grades;
    reports.onGrades(grades);
  });
  const stopSpeaker = startSpeakerLoop(sources, reports.onSpeaker);
  return () => {
    stopStats();
    stopSpeaker();
  };
}
