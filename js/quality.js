// @ts-check
// How good the link to one peer is, from its stats record: one word for the tile's badge
// (view.js draws the badge).

/**
 * @typedef {"good" | "fair" | "poor"} Quality
 * @typedef {{ quality: Quality, reasons: string[], route?: string }} Grade  reasons for a
 *   lower grade; `route`: how the link reaches the peer, in words (stats.js describeRoute)
 * @typedef {object} QualityInputs  the fields of a stats record (stats.js) a grade uses
 * @property {number | null} rtt_ms
 * @property {number | null} loss_pct
 * @property {number | null} fps_in
 * @property {string} connection
 */

/**
 * Limits past which a link is "fair", then "poor"; the worst measure decides.
 * - rtt_ms: round trip on the selected candidate pair. One way under 150 ms keeps a talk
 *   natural (ITU-T G.114), so a round trip past 300 ms starts to show, past 600 ms people
 *   talk over each other.
 * - loss_pct: inbound packets lost over the last interval. Video shows artefacts and
 *   freezes from about 2 %; past 10 % even speech breaks up.
 * - fps_in: camera frames decoded per second (lower is worse; only while the peer's
 *   camera is on). The fake and most real cameras send 30: under 15 looks jerky, under 8
 *   is a slide show.
 */
export const QUALITY_LIMITS = Object.freeze({
  rtt_ms: { fair: 300, poor: 600 },
  loss_pct: { fair: 2, poor: 10 },
  fps_in: { fair: 15, poor: 8 },
});

/** What each measure says when it is the reason for a lower grade. */
const REASONS = { rtt_ms: "slow round trip", loss_pct: "packet loss", fps_in: "low frame rate" };

/** @typedef {0 | 1 | 2} Level  an index into LEVELS */
/** @type {readonly [Quality, Quality, Quality]} */
const LEVELS = ["good", "fair", "poor"];

/**
 * Grade a link: null while there is nothing to judge (not connected yet, no measures).
 * A link that is disconnected or failed is "poor" whatever the last numbers said.
 * @param {QualityInputs} record  a stats record (see stats.js)
 * @param {boolean} [judgeVideo]  hold the frame rate against the link (the peer's camera
 *   is on and its video has had time to ramp up)
 * @returns {Grade | null}
 */
export function assessLink(record, judgeVideo = true) {
  if (record.connection === "disconnected") return { quality: "poor", reasons: ["interrupted"] };
  if (record.connection === "failed") return { quality: "poor", reasons: ["failed"] };
  if (record.connection !== "connected") return null;
  /** @type {Level} */
  let worst = 0;
  let measured = false;
  /** @type {string[]} */
  const reasons = [];
  /** @param {keyof typeof QUALITY_LIMITS} key @param {Level} grade */
  const note = (key, grade) => {
    measured = true;
    if (grade > worst) reasons.length = 0;
    if (grade > 0 && grade >= worst) reasons.push(REASONS[key]);
    if (grade > worst) worst = grade;
  };
  for (const key of /** @type {const} */ (["rtt_ms", "loss_pct"])) {
    const value = record[key];
    if (value === null || value === undefined) continue;
    const { fair, poor } = QUALITY_LIMITS[key];
    note(key, value >= poor ? 2 : value >= fair ? 1 : 0);
  }
  const fps = record.fps_in;
  if (judgeVideo && fps !== null && fps !== undefined) {
    const { fair, poor } = QUALITY_LIMITS.fps_in;
    note("fps_in", fps < poor ? 2 : fps < fair ? 1 : 0);
  }
  return measured ? { quality: LEVELS[worst], reasons } : null;
}
