// @ts-check
// Who is speaking: the loudest voice above a threshold, sampled a few times a second,
// keeps the highlight for a moment so that it does not flicker between tiles.

/**
 * RMS level (0..1 of full scale) above which a voice counts as speaking: -40 dBFS.
 * Speech through WebRTC's gain control sits around -30..-20 dBFS; the silence of a
 * muted or noise-suppressed microphone well under -50 dBFS.
 */
export const SPEAKING_LEVEL = 0.01;
/** A speaker keeps the highlight this long after it was last the loudest. */
export const SPEAKER_HOLD_MS = 1000;
/** Sampling period: short enough that a word is not missed, long enough to be cheap. */
export const SPEAKER_SAMPLE_MS = 250;

/** @typedef {{ id: string, heard: number }} Speaker  `heard`: last time it was the loudest */

/**
 * The speaker after one sample. The loudest voice above SPEAKING_LEVEL becomes the
 * speaker once the current one has not been the loudest for SPEAKER_HOLD_MS.
 * @param {Speaker | null} current
 * @param {Map<string, number>} levels  id → RMS level over the last sample period
 * @param {number} now  milliseconds
 * @returns {Speaker | null}
 */
export function nextSpeaker(current, levels, now) {
  let loudest = null;
  let loudestLevel = SPEAKING_LEVEL;
  for (const [id, level] of levels) {
    if (level >= loudestLevel) {
      loudest = id;
      loudestLevel = level;
    }
  }
  if (current && loudest === current.id) return { id: current.id, heard: now };
  if (current && now - current.heard < SPEAKER_HOLD_MS) return current;
  return loudest === null ? null : { id: loudest, heard: now };
}

/**
 * The audio energy counters of an inbound-rtp or media-source stats entry.
 * @typedef {{ totalAudioEnergy?: number, totalSamplesDuration?: number }} AudioEnergyStats
 * @typedef {{ energy: number, duration: number }} EnergyCounters
 */

/**
 * Mean level since the previous sample, from the cumulative energy counters getStats()
 * keeps (the spec's way to average `audioLevel` over an interval; a single reading of
 * `audioLevel` misses short sounds).
 * @param {AudioEnergyStats | null} stats  an inbound-rtp or media-source audio entry
 * @param {EnergyCounters | undefined} previous
 * @returns {{ level: number | null, counters: EnergyCounters } | null}
 */
function meanLevel(stats, previous) {
  const energy = stats?.totalAudioEnergy;
  const duration = stats?.totalSamplesDuration;
  if (typeof energy !== "number" || typeof duration !== "number") return null;
  const counters = { energy, duration };
  if (!previous) return { level: null, counters };
  const span = duration - previous.duration;
  const level = span > 0 ? Math.sqrt(Math.max(0, energy - previous.energy) / span) : null;
  return { level, counters };
}

/**
 * @typedef {object} SpeakerSources
 * @property {() => Map<string, import("./planes.js").MediaLink>} links  remote peers
 * @property {() => RTCRtpSender | null} ownVoice  where our microphone is sent from
 * @property {() => string} selfId  our own peer id, the key of our own tile
 * @property {() => boolean} microphoneOn
 */

/**
 * Sample every remote voice (and our own, through any link's audio sender) and report
 * the speaker's id, or "" for nobody, whenever it changes.
 * @param {SpeakerSources} sources
 * @param {(speakerId: string) => void} onSpeaker
 * @returns {() => void} stop
 */
export function startSpeakerLoop(sources, onSpeaker) {
  /** @type {WeakMap<object, EnergyCounters>} */
  const counters = new WeakMap();
  /** @type {Speaker | null} */
  let speaker = null;
  let stopped = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;

  /**
   * @param {RTCRtpReceiver | RTCRtpSender} endpoint
   * @param {"inbound-rtp" | "media-source"} type
   */
  const sample = async (endpoint, type) => {
    const report = await endpoint.getStats();
    /** @type {AudioEnergyStats | null} */
    let entry = null;
    report.forEach((/** @type {RTCStats & AudioEnergyStats & { kind?: string }} */ s) => {
      if (s.type === type && s.kind === "audio") entry = s;
    });
    const mean = meanLevel(entry, counters.get(endpoint));
    if (!mean) return null;
    counters.set(endpoint, mean.counters);
    return mean.level;
  };

  const tick = async () => {
    /** @type {Map<string, number>} */
    const levels = new Map();
    const voices = [...sources.links().values()].flatMap((s) =>
      !s.closed && s.audio ? [{ id: s.id, audio: s.audio }] : [],
    );
    const own = sources.microphoneOn() ? sources.ownVoice() : null;
    // A link that closes while being sampled is simply absent from this sample.
    await Promise.allSettled([
      ...voices.map(async ({ id, audio }) => {
        const level = await sample(audio.receiver, "inbound-rtp");
        if (level !== null) levels.set(id, level);
      }),
      (async () => {
        if (!own) return;
        const level = await sample(own, "media-source");
        if (level !== null && sources.selfId()) levels.set(sources.selfId(), level);
      })(),
    ]);
    if (stopped) return;
    const next = nextSpeaker(speaker, levels, performance.now());
    if (next?.id !== speaker?.id) onSpeaker(next?.id ?? "");
    speaker = next;
    timer = setTimeout(tick, SPEAKER_SAMPLE_MS);
  };
  timer = setTimeout(tick, SPEAKER_SAMPLE_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
