// @ts-check
// What a call measures while it runs: link statistics (for the kernel), each link's
// quality grade (for the tiles' badges) and who is speaking.
import { assessLink } from "./quality.js";
import { startSpeakerLoop } from "./speaker.js";
import { startStatsLoop } from "./stats.js";

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
 * @param {import("./conference.js").Conference} conference
 * @returns {() => void} stop both loops
 */
export function startMeters(conference) {
  /** @type {WeakMap<object, number>} link → when its camera video started */
  const videoSince = new WeakMap();

  /** @param {Record<string, import("./stats.js").PeerStats>} stats */
  const grade = (stats) => {
    const now = performance.now();
    /** @type {Map<string, Grade>} */
    const grades = new Map();
    for (const [id, record] of Object.entries(stats)) {
      const link = conference.peers.get(id);
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
      if (result) grades.set(id, result);
    }
    return grades;
  };

  const stopStats = startStatsLoop(
    () => conference.peers,
    () => Number(conference.settings.get("stats_interval")) || 1,
    (stats) => {
      const grades = grade(stats);
      // Views redraw for a new grade, not for every sample.
      const regraded = fingerprint(grades) !== fingerprint(conference.grades);
      conference.stats = stats;
      conference.grades = grades;
      conference.report({ stats });
      if (regraded) conference.changed();
    },
  );
  const stopSpeaker = startSpeakerLoop(
    {
      links: () => conference.peers,
      selfId: () => conference.id,
      microphoneOn: () => conference.media.state().microphone,
    },
    (speakerId) => {
      conference.speaker = speakerId;
      conference.changed();
    },
  );
  return () => {
    stopStats();
    stopSpeaker();
  };
}
