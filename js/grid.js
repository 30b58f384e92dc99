// @ts-check
// The grid of one view: a tile per screen share, ours, then one per peer, laid out as
// square as fits. Each remote tile tells sight.js how large it shows its peer, which is
// what that peer sends us; the tiles' own DOM belongs to tiles.js.
import { handQueue, markHand } from "./hands.js";
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

  return {
    el,
    /** @param {ConferenceSnapshot} c */
    update(c) {
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
        const tile = tileFor(`peer:${peer.id}`, "remote", peer.id);
        attachStream(tile, c.receiveVideo ? peer.stream : null);
        const grade = c.grades.get(peer.id) ?? null;
        describeCamera(tile, peer, grade, c.speaker === peer.id, c.receiveVideo);
        markHand(tile, places.get(peer.id) ?? 0);
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
    },
    /** The view is gone: no tile is watched, and no stream stays held by a <video>. */
    dispose() {
      for (const handle of watched.values()) handle.remove();
      for (const tile of tiles.values()) tile.video.srcObject = null;
    },
  };
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
