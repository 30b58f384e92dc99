// @ts-check
// Which feed each m-line of the subscriber connection carries. Janus' offers name no
// feed (its msids are its own), so we keep the map ourselves: we ask for one batch of
// streams at a time, and the lines that turn active in the offer that answers it are
// those streams, in the order we asked for them (Janus adds or reuses one line per
// requested stream, in request order). A line that turns inactive carries nothing.

/**
 * @typedef {import("../protocol/sfu.js").SfuKind} SfuKind
 * @typedef {{ mid: string, media: string, active: boolean }} OfferLine  one m-line
 * @typedef {{ feed: string, mid: string, kind: SfuKind }} FeedStream  a stream of a
 *   feed, named by the publisher's own mid
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

/** @param {SfuKind} kind */
function mediaOf(kind) {
  return kind === "audio" ? "audio" : "video";
}

/**
 * Bring `carried` (subscriber mid → stream) up to date with a new offer: lines now
 * inactive carry nothing; newly active lines take the `asked` streams of their media, in
 * order. Returns what was taken, by line, and what is still unplaced.
 * @param {Map<string, Carried>} carried  changed in place
 * @param {OfferLine[]} lines
 * @param {FeedStream[]} asked  the streams of the request this offer may answer
 * @returns {{ placed: Carried[], dropped: Carried[], left: FeedStream[] }}
 */
export function placeLines(carried, lines, asked) {
  /** @type {Carried[]} */
  const dropped = [];
  for (const line of lines) {
    const was = carried.get(line.mid);
    if (was && !line.active) {
      carried.delete(line.mid);
      dropped.push(was);
    }
  }
  const left = [...asked];
  /** @type {Carried[]} */
  const placed = [];
  for (const line of lines) {
    if (!line.active || carried.has(line.mid)) continue;
    const index = left.findIndex((s) => mediaOf(s.kind) === line.media);
    if (index < 0) continue;
    const stream = /** @type {FeedStream} */ (left.splice(index, 1)[0]);
    /** @type {Carried} */
    const entry = { ...stream, line: line.mid };
    carried.set(line.mid, entry);
    placed.push(entry);
  }
  return { placed, dropped, left };
}
