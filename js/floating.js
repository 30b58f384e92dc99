// @ts-check
// Keep the call in sight. In a shared or long notebook people scroll away from the cell
// of the call; when no view of it is on screen, a compact floating view stays inside the
// notebook's panel: the active speaker, with mute, camera, leave, and a way back. A view
// moved into a pop-out window counts as on screen. The floating view's picture is a tile
// like the grid's: its size is what its peer is asked to send (sight.js).
import { icon } from "./icons.js";
import { sightOf } from "./sight.js";
import { attachStream, h } from "./tiles.js";

/**
 * @typedef {import("./conference.js").ConferenceView} ConferenceView
 * @typedef {import("./snapshot.js").ConferenceSnapshot} ConferenceSnapshot
 * @typedef {{ visible: boolean, popped: boolean }} Sighting
 */

/** @type {WeakMap<ConferenceView, FloatingCall>} one floating view per call and page */
const floats = new WeakMap();

/**
 * Watch a view's root for the call's floating view.
 * @param {ConferenceView} conference
 * @param {HTMLElement} root
 * @returns {{ setPopped(popped: boolean): void, unwatch(): void }}
 */
export function keepInSight(conference, root) {
  let float = floats.get(conference);
  if (!float) {
    float = new FloatingCall(conference, () => floats.delete(conference));
    floats.set(conference, float);
  }
  return float.watch(root);
}

/**
 * What the floating view shows: the active speaker, else the first peer, else ourselves.
 * @param {ConferenceSnapshot} c
 * @returns {{ id: string, name: string, stream: MediaStream | null, camera: boolean }}
 */
export function featured(c) {
  const speaker = c.peers.find((p) => p.id === c.speaker) ?? c.peers[0];
  if (speaker) {
    const { id, name, stream, camera } = speaker;
    return { id, name, stream, camera };
  }
  const { id, name, preview, camera } = c.local;
  return { id, name: `${name} (you)`, stream: preview, camera };
}

class FloatingCall {
  /** @type {ConferenceView} */ #conference;
  /** @type {() => void} */ #onEmpty;
  /** @type {Map<HTMLElement, Sighting>} */ #roots = new Map();
  /** @type {IntersectionObserver | null} */ #observer = null;
  /** @type {{ el: HTMLElement, video: HTMLVideoElement, name: HTMLElement, mic: HTMLButtonElement, cam: HTMLButtonElement, seen: { show(peerId: string): void, remove(): void } } | null} */
  #view = null;

  /** @param {ConferenceView} conference @param {() => void} onEmpty */
  constructor(conference, onEmpty) {
    this.#conference = conference;
    this.#onEmpty = onEmpty;
    if ("IntersectionObserver" in globalThis) {
      this.#observer = new IntersectionObserver((entries) => {
        for (const entry of entries) {
          const sighting = this.#roots.get(/** @type {HTMLElement} */ (entry.target));
          if (sighting) sighting.visible = entry.isIntersecting;
        }
        this.#update();
      });
    }
    conference.addEventListener("change", this.#update);
  }

  /** @param {HTMLElement} root */
  watch(root) {
    /** @type {Sighting} */
    const sighting = { visible: true, popped: false };
    this.#roots.set(root, sighting);
    this.#observer?.observe(root);
    return {
      /** @param {boolean} popped */
      setPopped: (popped) => {
        sighting.popped = popped;
        this.#update();
      },
      unwatch: () => {
        this.#observer?.unobserve(root);
        this.#roots.delete(root);
        if (this.#roots.size === 0) this.#dispose();
        else this.#update();
      },
    };
  }

  #update = () => {
    const c = this.#conference.snapshot();
    const sighted = [...this.#roots.values()].some((s) => s.visible || s.popped);
    const show = c.inCall && !sighted && this.#roots.size > 0;
    if (!show) {
      this.#hide();
      return;
    }
    const view = this.#view ?? this.#create();
    const shown = featured(c);
    const isPeer = c.peers.some((p) => p.id === shown.id);
    const picture = shown.camera && (c.receiveVideo || !isPeer) ? shown.stream : null;
    attachStream({ video: view.video }, picture);
    view.seen.show(isPeer ? shown.id : "");
    view.el.dataset.peerId = shown.id;
    view.name.textContent = shown.name;
    toggle(view.mic, c.wanted.microphone, "microphone", ["Mute", "Unmute"]);
    toggle(view.cam, c.wanted.camera, "camera", ["Stop video", "Start video"]);
  };

  #create() {
    const el = h("div", "nbc-float");
    el.setAttribute("role", "region");
    el.setAttribute("aria-label", "Call (floating view)");
    const video = /** @type {HTMLVideoElement} */ (h("video"));
    video.muted = true; // voices play through the call's own audio elements
    video.autoplay = true;
    video.playsInline = true;
    const name = h("div", "nbc-float-name");
    const controls = h("div", "nbc-controls");
    /** @param {string} action @param {string} label @param {() => void} onClick */
    const button = (action, label, onClick) => {
      const b = /** @type {HTMLButtonElement} */ (h("button", "nbc-button"));
      b.type = "button";
      b.dataset.action = action;
      b.setAttribute("aria-label", label);
      b.title = label;
      b.addEventListener("click", onClick);
      controls.append(b);
      return b;
    };
    const conference = this.#conference;
    const mic = button("microphone", "Microphone", () =>
      conference.setMicrophone(!conference.snapshot().wanted.microphone),
    );
    const cam = button("camera", "Camera", () =>
      conference.setCamera(!conference.snapshot().wanted.camera),
    );
    const leave = button("leave", "Leave the call", () => conference.leave());
    leave.classList.add("nbc-danger");
    leave.innerHTML = icon("leave");
    const back = button("show", "Show the whole call", () => {
      const [first] = this.#roots.keys();
      first?.scrollIntoView({ behavior: "smooth", block: "nearest" });
    });
    back.textContent = "Show call";
    el.append(video, name, controls);
    const [first] = this.#roots.keys();
    const host = first?.closest(".jp-NotebookPanel") ?? document.body;
    host.append(el);
    const seen = sightOf(conference).track(el, video, "camera", null);
    this.#view = { el, video, name, mic, cam, seen };
    return this.#view;
  }

  #hide() {
    if (!this.#view) return;
    this.#view.seen.remove();
    this.#view.video.srcObject = null;
    this.#view.el.remove();
    this.#view = null;
  }

  #dispose() {
    this.#hide();
    this.#observer?.disconnect();
    this.#conference.removeEventListener("change", this.#update);
    this.#onEmpty();
  }
}

/**
 * @param {HTMLButtonElement} b @param {boolean} on @param {"microphone" | "camera"} name
 * @param {[string, string]} titles  when on, when off
 */
function toggle(b, on, name, titles) {
  const pressed = String(on);
  if (b.getAttribute("aria-pressed") === pressed && b.firstChild) return;
  b.setAttribute("aria-pressed", pressed);
  b.title = on ? titles[0] : titles[1];
  b.innerHTML = icon(name, !on);
}
