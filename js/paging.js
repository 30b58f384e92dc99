// @ts-check
// A class does not fit on one screen: the grid shows one page of remote cameras at a
// time, and only the tiles on it ask for video (sight.js), so a page costs what it shows.
// The active speaker is always on the page; screen shares and voices are never paged.

/** How many remote camera tiles one page of the grid holds. */
export const PAGE_SIZE = 8;

/**
 * The remote peers one page of the grid shows: page `page` (clamped to those there are)
 * of `ids`, in order, with the active speaker on it wherever it falls (taking the page's
 * last place when the page is full).
 * @param {readonly string[]} ids  the remote peers, in grid order
 * @param {number} page  0-based
 * @param {string} speaker  the active speaker's id, "" for nobody
 * @param {number} [size]
 * @returns {{ shown: string[], page: number, pages: number, more: number }}  `more`: how
 *   many peers this page does not show (the "+N")
 */
export function pageOf(ids, page, speaker, size = PAGE_SIZE) {
  const pages = Math.max(1, Math.ceil(ids.length / size));
  const current = Math.min(Math.max(0, Math.trunc(page)), pages - 1);
  const shown = ids.slice(current * size, (current + 1) * size);
  if (speaker && ids.includes(speaker) && !shown.includes(speaker)) {
    if (shown.length >= size) shown.pop();
    shown.push(speaker);
  }
  return { shown, page: current, pages, more: ids.length - shown.length };
}
