// @ts-check
// The grid of one view: a tile per screen share, ours, then one per peer, laid out as
// square as fits. Each remote tile tells sight.js how large it shows its peer, which is
// what that peer sends us; the tiles' own DOM belongs to tiles.js. Past a page of remote
// cameras (paging.js), a pager shows the rest page by page, with a count of those not
// shown: a camera off the page has no tile, so it asks for no video.
import { handQueue, markHand } from "./hands.js";
import { hostMenus } from "./host-menu.js";
import { pageOf } from "./paging.js";
import { sightOf } from "./sight.js";
import {
  attachStream,
  createTile,
  describeCamera,
  describeScreen,
  h,
  removeTile,
} from "./tiles.js";

/**
 * @typedef {import("./conference.js").ConferenceView} ConferenceView
 * @typedef {import("./snapshot.js").ConferenceSnapshot} ConferenceSnapshot
 * @typedef {import("./tiles.js").Tile} Tile
 */

/**
 * @param {ConferenceView} conference
 * @param {import("./sight.js").RootSighting} root  the view the tiles are in, as sight.js
 *   watches it (popped out or not)
 */
export function tileGrid(conference, root) {
  const el = h("div", "nbc-grid");
  /** @type {Map<string, Tile>} */
  const tiles = new Map();
  /** @type {Map<string, { show(peerId: string): void, remove(): void }>} */
  const watched = new Map();
  const hosting = hostMenus(conference);
  /** the page of remote cameras shown (0-based) */
  let page = 0;
  /** @type {ConferenceSnapshot | null} the last snapshot drawn, to redraw on a page turn */
  let last = null;
  const pager = h("div", "nbc-pager");
  /** @param {string} action @param {string} label @param {number} step */
  const turn = (action, label, step) => {
    const b = /** @type {HTMLButtonElement} */ (h("button", "nbc-button"));
    b.type = "button";
    b.dataset.action = action;
    b.textContent = label;
    b.title = action === "page-back" ? "Previous page" : "Next page";
    b.onclick = () => {
      page += step;
      if (last) grid.update(last);
    };
    return b;
  };
  const back = turn("page-back", "‹", -1);
  const where = h("span", "nbc-page");
  const more = h("span", "nbc-more");
  const next = turn("page-next", "›", 1);
  pager.append(back, where, next, more);

  /**
   * @param {string} key @param {import("./tiles.js").TileKind} kind
   * @param {string} [peerId]  a remote peer's tile: its size is what we ask that peer for
   */
  const tileFor = (key, kind, peerId) => {
    let tile = tiles.get(key);
    if (!tile) {
      tile = createTile(kind);
      tiles.set(key, tile);
      if (peerId) {
        const kindShown = kind === "screen" ? "screen" : "camera";
        const handle = sightOf(conference).track(tile.el, tile.video, kindShown, root);
        handle.show(peerId);
        watched.set(key, handle);
      }
    }
    return tile;
  };

  const grid = {
    el,
    /** @param {ConferenceSnapshot} c */
    update(c) {
      last = c;
      const paging = pageOf(
        c.peers.map((peer) => peer.id),
        page,
        c.speaker,
      );
      page = paging.page;
      const onPage = new Set(paging.shown);
      const places = new Map(handQueue(c).map((raised, index) => [raised.id, index + 1]));
      /** @type {Tile[]} */
      const order = [];
      const placed = new Set();
      /** @param {string} key @param {Tile} tile */
      const place = (key, tile) => {
        order.push(tile);
        placed.add(key);
      };
      for (const peer of c.peers) {
        if (!peer.screenStream) continue;
        const tile = tileFor(`screen:${peer.id}`, "screen", peer.id);
        attachStream(tile, c.receiveVideo ? peer.screenStream : null);
        describeScreen(tile, peer.id, peer.name, c.receiveVideo);
        place(`screen:${peer.id}`, tile);
      }
      if (c.inCall) {
        const me = tileFor("local", "local");
        attachStream(me, c.local.preview);
        const you = { ...c.local, name: `${c.local.name} (you)` };
        const speaking = c.speaker !== "" && c.speaker === c.local.id;
        describeCamera(me, { ...you, connection: "local", problem: "" }, null, speaking);
        markHand(me, places.get(c.local.id) ?? 0);
        place("local", me);
      }
      for (const peer of c.peers) {
        if (!onPage.has(peer.id)) continue;
        const tile = tileFor(`peer:${peer.id}`, "remote", peer.id);
        attachStream(tile, c.receiveVideo ? peer.stream : null);
        const grade = c.grades.get(peer.id) ?? null;
        describeCamera(tile, peer, grade, c.speaker === peer.id, c.receiveVideo);
        markHand(tile, places.get(peer.id) ?? 0);
        hosting.update(tile, peer, c);
        place(`peer:${peer.id}`, tile);
      }
      for (const [key, tile] of tiles) {
        if (placed.has(key)) continue;
        removeTile(tile);
        tiles.delete(key);
        watched.get(key)?.remove();
        watched.delete(key);
      }
      order.forEach((tile, index) => {
        if (el.children[index] !== tile.el) el.insertBefore(tile.el, el.children[index] ?? null);
      });
      const cameras = order.filter((t) => !t.el.classList.contains("nbc-screen")).length;
      const screens = order.length - cameras;
      el.dataset.count = String(cameras);
      el.dataset.columns = String(columnsFor(cameras, screens > 0));
      if (screens) el.dataset.screen = "";
      else delete el.dataset.screen;
      showPager(paging);
    },
    /** The view is gone: no tile is watched, and no stream stays held by a <video>. */
    dispose() {
      for (const handle of watched.values()) handle.remove();
      for (const tile of tiles.values()) tile.video.srcObject = null;
      last = null;
    },
  };

  /** @param {ReturnType<typeof pageOf>} paging */
  const showPager = (paging) => {
    if (paging.pages <= 1) {
      pager.remove();
      return;
    }
    where.textContent = `${paging.page + 1} / ${paging.pages}`;
    more.textContent = `+${paging.more}`;
    more.title = `${paging.more} more in the call, not shown on this page (their voices play)`;
    /** @type {HTMLButtonElement} */ (back).disabled = paging.page === 0;
    /** @type {HTMLButtonElement} */ (next).disabled = paging.page === paging.pages - 1;
    if (pager.parentElement !== el || el.lastElementChild !== pager) el.append(pager);
  };
  return grid;
}

/**
 * Camera tiles per row: as square a grid as fits; a strip of small ones under a screen.
 * @param {number} cameras @param {boolean} screen
 */
function columnsFor(cameras, screen) {
  if (screen) return Math.min(Math.max(cameras, 1), 4);
  if (cameras <= 1) return 1;
  return cameras === 2 || cameras === 4 ? 2 : 3;
}
