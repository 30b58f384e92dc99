// @ts-check
// What this page shows of each remote peer: for each, the largest height in device pixels
// at which a tile on screen shows its camera, and its screen share; 0 when no tile of it is
// in sight. The conference asks each sender for exactly that (the view channel, see
// peer.js), so a tile out of sight costs its sender nothing.
//
// Every tile of every view of one call on this page is watched (the grid's tiles, the
// floating view's): an IntersectionObserver says whether it is on screen (scrolled away,
// a collapsed output, a hidden panel are not) and a ResizeObserver when its size changes.
// A page whose tab is hidden shows nothing. A view popped out into its own window shows
// all it holds while that window is visible.

/**
 * @typedef {import("./conference.js").ConferenceView} ConferenceView
 * @typedef {import("./protocol.js").Shown} Shown
 * @typedef {"camera" | "screen"} TileKind
 * @typedef {{ popped: boolean }} RootSighting  one view's root
 * @typedef {object} TileSighting
 * @property {HTMLElement} el
 * @property {HTMLVideoElement} video
 * @property {string} peerId  whose picture it shows ("" for nobody)
 * @property {TileKind} kind
 * @property {RootSighting | null} root  the view it belongs to (null: the floating view)
 * @property {boolean} intersecting  as the IntersectionObserver last said
 */

/** Sizes change in bursts (a layout): they are read once per burst. Coming into or out
 * of sight is acted on at once. */
const SETTLE_MS = 50;
/** Sizes are also read this often, for what no observer reports (a pop-out resized). */
const REFRESH_MS = 2000;

/** @type {WeakMap<ConferenceView, Sight>} one per call and page */
const sights = new WeakMap();

/**
 * The sight of `conference` on this page, shared by all its views.
 * @param {ConferenceView} conference
 */
export function sightOf(conference) {
  let sight = sights.get(conference);
  if (!sight) {
    sight = new Sight((shown) => conference.showing(shown));
    sights.set(conference, sight);
  }
  return sight;
}

/**
 * The height at which `video` draws its picture, in device pixels: a tile crops (cover)
 * or letterboxes (contain) a picture of another shape.
 * @param {HTMLVideoElement} video
 */
export function drawnHeight(video) {
  const { width, height } = video.getBoundingClientRect();
  if (width <= 0 || height <= 0) return 0;
  const aspect = video.videoWidth && video.videoHeight ? video.videoWidth / video.videoHeight : 16 / 9;
  const fit = video.ownerDocument.defaultView?.getComputedStyle(video).objectFit ?? "cover";
  const picture = width / aspect;
  const drawn = fit === "contain" ? Math.min(height, picture) : Math.max(height, picture);
  const ratio = video.ownerDocument.defaultView?.devicePixelRatio ?? 1;
  return Math.round(drawn * ratio);
}

export class Sight {
  /** @type {(shown: Map<string, Shown>) => void} */ #report;
  /** @type {Set<TileSighting>} */ #tiles = new Set();
  /** @type {Map<Element, TileSighting>} */ #byElement = new Map();
  /** @type {IntersectionObserver | null} */ #intersections = null;
  /** @type {ResizeObserver | null} */ #sizes = null;
  /** @type {WeakSet<Document>} documents whose visibility we listen to */
  #documents = new WeakSet();
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #settle;
  /** @type {ReturnType<typeof setInterval> | undefined} */ #refresh;
  #last = "";

  /** @param {(shown: Map<string, Shown>) => void} report */
  constructor(report) {
    this.#report = report;
    if ("IntersectionObserver" in globalThis) {
      this.#intersections = new IntersectionObserver((entries) => {
        for (const entry of entries) {
          const tile = this.#byElement.get(entry.target);
          if (tile) tile.intersecting = entry.isIntersecting;
        }
        this.#now();
      });
    }
    if ("ResizeObserver" in globalThis) this.#sizes = new ResizeObserver(() => this.#changed());
  }

  /**
   * A view's root: its tiles count while it is popped out whatever the observers say.
   * @returns {{ root: RootSighting, setPopped(popped: boolean): void }}
   */
  watchRoot() {
    /** @type {RootSighting} */
    const root = { popped: false };
    return {
      root,
      setPopped: (popped) => {
        root.popped = popped;
        this.#changed();
      },
    };
  }

  /**
   * Watch a tile; the returned handle moves it to another peer or lets it go.
   * @param {HTMLElement} el  the tile (observed)
   * @param {HTMLVideoElement} video  where the picture is drawn (measured)
   * @param {TileKind} kind
   * @param {RootSighting | null} root
   */
  track(el, video, kind, root) {
    /** @type {TileSighting} */
    const tile = { el, video, peerId: "", kind, root, intersecting: true };
    this.#tiles.add(tile);
    this.#byElement.set(el, tile);
    this.#intersections?.observe(el);
    this.#sizes?.observe(el);
    this.#listen(el.ownerDocument);
    this.#refresh ??= setInterval(() => this.#send(), REFRESH_MS);
    return {
      /** @param {string} peerId */
      show: (peerId) => {
        if (tile.peerId === peerId) return;
        tile.peerId = peerId;
        this.#changed();
      },
      remove: () => {
        this.#tiles.delete(tile);
        this.#byElement.delete(el);
        this.#intersections?.unobserve(el);
        this.#sizes?.unobserve(el);
        if (this.#tiles.size === 0) {
          clearInterval(this.#refresh);
          this.#refresh = undefined;
        }
        this.#changed();
      },
    };
  }

  /** Something moved: measure once things settle. */
  #changed = () => {
    clearTimeout(this.#settle);
    this.#settle = setTimeout(() => this.#send(), SETTLE_MS);
  };

  /** Something came into or went out of sight: measure now. */
  #now = () => {
    clearTimeout(this.#settle);
    this.#send();
  };

  /** @param {Document} doc */
  #listen(doc) {
    if (this.#documents.has(doc)) return;
    this.#documents.add(doc);
    doc.addEventListener("visibilitychange", this.#now);
  }

  /** Measure every tile; report when anything differs from the last report. */
  #send() {
    /** @type {Map<string, Shown>} */
    const shown = new Map();
    for (const tile of this.#tiles) {
      if (!tile.peerId) continue;
      const entry = shown.get(tile.peerId) ?? { camera: 0, screen: 0 };
      entry[tile.kind] = Math.max(entry[tile.kind], this.#height(tile));
      shown.set(tile.peerId, entry);
    }
    const fingerprint = JSON.stringify([...shown]);
    if (fingerprint === this.#last) return;
    this.#last = fingerprint;
    this.#report(shown);
  }

  /** @param {TileSighting} tile */
  #height(tile) {
    const { el, video } = tile;
    if (!el.isConnected || el.ownerDocument.visibilityState !== "visible") return 0;
    if (!tile.root?.popped && !tile.intersecting) return 0;
    return drawnHeight(video);
  }
}
