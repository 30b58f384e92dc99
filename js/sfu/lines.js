// @ts-check
// Which feed each m-line of the subscriber connection carries. Janus' SDP names no feed
// (its msids are its own); the server lists, with each `sfu-offer`, which of our mids
// carries which peer's stream (`streams: [{mid, feed, feed_mid}]`), and the SDP says
// which lines are active.

/**
 * @typedef {import("../protocol/sfu.js").SfuKind} SfuKind
 * @typedef {import("../protocol/sfu.js").SfuCarried} SfuCarried
 * @typedef {{ mid: string, media: string, active: boolean }} OfferLine  one m-line
 * @typedef {{ feed: string, mid: string, kind: SfuKind, substream?: 0 | 1 | 2 }} FeedStream
 *   a stream of a feed, named by the publisher's own mid; for a camera, the simulcast
 *   layer to receive
 * @typedef {FeedStream & { line: string }} Carried  a feed's stream on a subscriber line
 */

/**
 * The m-lines of an offer, in order.
 * @param {string} sdp
 * @returns {OfferLine[]}
 */
export function offerLines(sdp) {
  return sdp
    .split(/\r?\nm=/)
    .slice(1)
    .map((section) => {
      const media = section.slice(0, section.indexOf(" "));
      const port = section.split(" ")[1];
      const mid = /\r?\na=mid:(\S+)/.exec(section)?.[1] ?? "";
      const rejected = port === "0" || /\r?\na=(inactive|recvonly)\b/.test(section);
      return { mid, media, active: !rejected && mid !== "" };
    });
}

/**
 * Bring `carried` (subscriber mid → stream) up to date with a new offer and the server's
 * list of what its lines carry. Returns the lines that now carry a stream they did not,
 * and those that no longer carry the one they did.
 * @param {Map<string, Carried>} carried  changed in place
 * @param {OfferLine[]} lines
 * @param {SfuCarried[]} streams  the offer's `streams`
 * @param {(feed: string, mid: string) => SfuKind | null} kindOf  what a feed's stream is
 * @returns {{ placed: Carried[], dropped: Carried[] }}
 */
export function placeLines(carried, lines, streams, kindOf) {
  const active = new Set(lines.filter((line) => line.active).map((line) => line.mid));
  /** @type {Map<string, Carried>} */
  const next = new Map();
  for (const s of streams) {
    const kind = active.has(s.mid) ? kindOf(s.feed, s.feed_mid) : null;
    if (kind) next.set(s.mid, { feed: s.feed, mid: s.feed_mid, kind, line: s.mid });
  }
  const same = (/** @type {Carried | undefined} */ a, /** @type {Carried} */ b) =>
    a !== undefined && a.feed === b.feed && a.mid === b.mid;
  const dropped = [...carried.values()].filter((was) => !same(next.get(was.line), was));
  const placed = [...next.values()].filter((now) => !same(carried.get(now.line), now));
  carried.clear();
  for (const [mid, entry] of next) carried.set(mid, entry);
  return { placed, dropped };
}
