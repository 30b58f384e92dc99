// @ts-check
// The call's controls in one view: the toolbar's buttons, and the questions the
// notebook's code asks of the person ("turn your camera on?"). They render the
// conference's snapshot() and call its actions; what only the view knows (its chat panel,
// its pop-out window) it passes in.
import { icon } from "./icons.js";
import { canPopOut } from "./popout.js";
import { h } from "./tiles.js";

/**
 * @typedef {import("./conference.js").ConferenceView} ConferenceView
 * @typedef {import("./snapshot.js").ConferenceSnapshot} ConferenceSnapshot
 *
 * @typedef {object} ViewState  what the toolbar shows of the view itself
 * @property {boolean} chatOpen  the view's chat panel is open
 * @property {number} unread  messages its closed chat panel has not shown
 * @property {boolean} popped  the call is in its own window
 * @property {boolean} [diagnosisOpen]  the view's ⓘ panel (the connection check) is open
 *
 * @typedef {object} ViewActions  what the view does for the buttons about itself
 * @property {() => void} toggleChat
 * @property {() => void} togglePopOut
 * @property {() => void} [toggleDiagnosis]  open or close the ⓘ panel
 */

/**
 * The toolbar: devices, video from the others, sound, chat, hand, leave, end the call
 * for everyone and lock the room (a host's), pop-out, join.
 * @param {ConferenceView} conference
 * @param {ViewActions} view
 */
export function callControls(conference, view) {
  const el = h("div", "nbc-controls");
  el.setAttribute("role", "toolbar");
  el.setAttribute("aria-label", "Call controls");

  /** @param {string} action @param {string} label @param {() => void} onClick */
  const button = (action, label, onClick) => {
    const b = /** @type {HTMLButtonElement} */ (h("button", "nbc-button"));
    b.type = "button";
    b.dataset.action = action;
    b.setAttribute("aria-label", label);
    b.addEventListener("click", onClick);
    el.append(b);
    return b;
  };
  const mic = button("microphone", "Microphone", () =>
    conference.setMicrophone(!conference.snapshot().wanted.microphone),
  );
  const micMenu = deviceMenu(conference, "microphone", button);
  const cam = button("camera", "Camera", () =>
    conference.setCamera(!conference.snapshot().wanted.camera),
  );
  const camMenu = deviceMenu(conference, "camera", button);
  const screen = button("screen", "Share screen", () =>
    conference.snapshot().local.screen
      ? conference.stopScreenShare()
      : conference.startScreenShare(),
  );
  const incoming = button("receive-video", "Video from the others", () =>
    conference.setReceiveVideo(!conference.snapshot().receiveVideo),
  );
  const audio = button("enable-audio", "Enable audio", () => conference.enableAudio());
  audio.innerHTML = `${icon("speaker")}<span>Enable audio</span>`;
  audio.title = "The browser blocked sound until you click here";
  const chatToggle = button("chat", "Chat", () => view.toggleChat());
  const hand = button("hand", "Raise hand", () =>
    conference.raiseHand(!(conference.snapshot().local.hand > 0)),
  );
  const leave = button("leave", "Leave call", () => conference.leave());
  leave.classList.add("nbc-danger");
  leave.innerHTML = `${icon("leave")}<span>Leave</span>`;
  leave.title = "Leave the call";
  const endCall = button("end-call", "End call for everyone", () => conference.endCall());
  endCall.classList.add("nbc-danger");
  endCall.innerHTML = `${icon("leave")}<span>End call for everyone</span>`;
  endCall.title = "End the call for everyone in it (you are a host)";
  const lock = button("lock", "Lock the room", () =>
    conference.setLocked(!conference.snapshot().lobby?.locked),
  );
  const info = button("diagnosis", "Connection check", () => view.toggleDiagnosis?.());
  info.textContent = "ⓘ";
  info.hidden = !view.toggleDiagnosis;
  const popout = button("popout", "Pop out", () => view.togglePopOut());
  popout.title = "Keep the call in a window on top of the others";
  const join = button("join", "Join call", () =>
    conference.snapshot().elsewhere ? conference.joinHere() : conference.rejoin(),
  );
  join.classList.add("nbc-primary");
  join.innerHTML = `${icon("join")}<span>Join</span>`;
  join.title = "Join the call again";

  return {
    el,
    /** @param {ConferenceSnapshot} c @param {ViewState} state */
    update(c, state) {
      const inCall = c.inCall;
      toggle(mic, c.wanted.microphone, "microphone");
      toggle(cam, c.wanted.camera, "camera");
      toggle(screen, c.local.screen, "screen");
      toggle(incoming, c.receiveVideo, "incoming");
      for (const b of [mic, cam, screen, incoming, leave]) b.hidden = !inCall;
      endCall.hidden = !(c.local.host && c.status === "joined");
      // A page that may run the lobby: a host's, or one the server shows the lobby to.
      lock.hidden = !(c.lobby && c.status === "joined");
      const locked = c.lobby?.locked === true;
      lock.setAttribute("aria-pressed", String(locked));
      lock.setAttribute("aria-label", locked ? "Unlock the room" : "Lock the room");
      labelWithIcon(lock, locked ? "locked" : "unlocked", locked ? "Unlock" : "Lock");
      lock.title = locked
        ? "The room is locked: newcomers wait until a host lets them in. Click to let them in directly"
        : "Lock the room: newcomers wait in a lobby until a host lets them in";
      micMenu.update(c);
      camMenu.update(c);
      const { unread } = state;
      chatToggle.dataset.unread = String(unread);
      chatToggle.textContent = unread ? `Chat (${unread})` : "Chat";
      chatToggle.setAttribute("aria-pressed", String(state.chatOpen));
      chatToggle.title = unread
        ? `${unread} unread chat messages`
        : state.chatOpen
          ? "Hide the chat"
          : "Show the chat";
      const checking = state.diagnosisOpen === true;
      info.setAttribute("aria-pressed", String(checking));
      info.title = checking ? "Hide the connection check" : "Check my connection";
      const up = c.local.hand > 0;
      hand.hidden = c.status !== "joined";
      hand.setAttribute("aria-pressed", String(up));
      labelWithIcon(hand, "hand", up ? "Lower hand" : "Raise hand");
      popout.hidden = !canPopOut() || (!inCall && !state.popped);
      const popText = state.popped ? "Pop in" : "Pop out";
      if (popout.textContent !== popText) popout.textContent = popText;
      screen.disabled = c.status !== "joined";
      join.hidden = inCall && c.status !== "error";
      const retry = c.status === "error";
      const joinText = c.elsewhere ? "Join here" : retry ? "Try again" : "Join";
      join.querySelector("span")?.replaceChildren(joinText);
      join.title = c.elsewhere
        ? "Move the call to this tab (the other one leaves it)"
        : "Join the call";
      audio.hidden = !c.audioBlocked || !inCall;
    },
  };
}

/** @type {Record<import("./devices.js").DeviceKind, string>} */
const NOUN = { camera: "Camera", microphone: "Microphone", speaker: "Speaker" };

/**
 * The menu of a device button (a caret beside it): the cameras, or the microphones and,
 * where the browser can choose one, the speakers. A click switches at once.
 * @param {ConferenceView} conference
 * @param {"camera" | "microphone"} device
 * @param {(action: string, label: string, onClick: () => void) => HTMLButtonElement} button
 */
function deviceMenu(conference, device, button) {
  const menu = h("div", "nbc-device-menu");
  menu.setAttribute("role", "menu");
  menu.dataset.device = device;
  menu.hidden = true;
  const caret = button(`${device}-menu`, `Choose the ${device}`, () => {
    menu.hidden = !menu.hidden;
    caret.setAttribute("aria-expanded", String(!menu.hidden));
    if (!menu.hidden) fill(conference.snapshot());
  });
  caret.classList.add("nbc-caret");
  caret.title = `Choose the ${device}`;
  caret.textContent = "▾";
  caret.setAttribute("aria-haspopup", "menu");
  caret.setAttribute("aria-expanded", "false");
  caret.after(menu);
  let shown = "";
  /** @param {ConferenceSnapshot} c */
  const fill = (c) => {
    const { list, inUse, canChooseSpeaker } = c.devices;
    /** @type {import("./devices.js").DeviceKind[]} */
    const kinds = device === "camera" ? ["camera"] : ["microphone"];
    if (device === "microphone" && canChooseSpeaker) kinds.push("speaker");
    const fingerprint = JSON.stringify([list, inUse, kinds]);
    if (fingerprint === shown) return;
    shown = fingerprint;
    menu.replaceChildren();
    for (const kind of kinds) {
      const heading = h("div", "nbc-menu-heading");
      heading.textContent = NOUN[kind];
      menu.append(heading);
      const entries = list.filter((d) => d.kind === kind);
      if (entries.length === 0) {
        const none = h("div", "nbc-menu-empty");
        none.textContent = "None found (allow the devices first)";
        menu.append(none);
      }
      const current = entries.some((d) => d.deviceId === inUse[kind]) ? inUse[kind] : "default";
      entries.forEach((d, i) => {
        const item = /** @type {HTMLButtonElement} */ (h("button", "nbc-menu-item"));
        item.type = "button";
        item.setAttribute("role", "menuitemradio");
        item.setAttribute("aria-checked", String(d.deviceId === current));
        item.dataset.kind = kind;
        item.dataset.deviceId = d.deviceId;
        item.textContent = d.label || `${NOUN[kind]} ${i + 1}`;
        item.addEventListener("click", () => {
          menu.hidden = true;
          caret.setAttribute("aria-expanded", "false");
          void conference.chooseDevice(kind, d.deviceId);
        });
        menu.append(item);
      });
    }
  };
  return {
    /** @param {ConferenceSnapshot} c */
    update(c) {
      caret.hidden = !c.inCall;
      if (!c.inCall) menu.hidden = true;
      if (!menu.hidden) fill(c);
    },
  };
}

/**
 * What the notebook's code asks of the person, and how the buttons say yes.
 * @type {Record<"camera" | "microphone", [string, string]>}
 */
const REQUEST_TEXT = {
  camera: ["The notebook asks you to turn on your camera.", "Turn camera on"],
  microphone: ["The notebook asks you to unmute your microphone.", "Unmute"],
};

/**
 * The notebook's requests to turn a device on, each with a yes and a "not now".
 * @param {ConferenceView} conference
 */
export function deviceRequests(conference) {
  const el = h("div", "nbc-requests");
  /** @type {Record<"camera" | "microphone", HTMLElement>} */
  const asks = { camera: h("div", "nbc-request"), microphone: h("div", "nbc-request") };
  for (const device of /** @type {const} */ (["camera", "microphone"])) {
    const ask = asks[device];
    ask.setAttribute("role", "alertdialog");
    ask.dataset.device = device;
    const [question, yes] = REQUEST_TEXT[device];
    const accept = h("button", "nbc-button nbc-primary");
    accept.textContent = yes;
    accept.dataset.action = `accept-${device}`;
    accept.addEventListener("click", () => conference.answerRequest(device, true));
    const decline = h("button", "nbc-button");
    decline.textContent = "Not now";
    decline.dataset.action = `decline-${device}`;
    decline.addEventListener("click", () => conference.answerRequest(device, false));
    const text = h("span");
    text.textContent = question;
    ask.append(text, accept, decline);
    el.append(ask);
  }
  // The notebook's code asks for another camera (w.camera_device) while this one is on.
  const switchAsk = h("div", "nbc-request");
  switchAsk.setAttribute("role", "alertdialog");
  switchAsk.dataset.device = "camera-device";
  const switchText = h("span");
  const accept = h("button", "nbc-button nbc-primary");
  accept.textContent = "Switch camera";
  accept.dataset.action = "accept-camera-device";
  accept.addEventListener("click", () => conference.answerDeviceRequest(true));
  const decline = h("button", "nbc-button");
  decline.textContent = "Not now";
  decline.dataset.action = "decline-camera-device";
  decline.addEventListener("click", () => conference.answerDeviceRequest(false));
  switchAsk.append(switchText, accept, decline);
  el.append(switchAsk);
  return {
    el,
    /** @param {ConferenceSnapshot} c */
    update(c) {
      for (const device of /** @type {const} */ (["camera", "microphone"])) {
        asks[device].hidden = !c.requests[device];
      }
      const wanted = c.deviceRequest;
      switchAsk.hidden = wanted === null;
      const text = wanted ? `The notebook asks you to switch your camera to “${wanted.label}”.` : "";
      if (switchText.textContent !== text) switchText.textContent = text;
    },
  };
}

/**
 * Title and visible text of each toggle, when on and when off.
 * @type {Record<"microphone" | "camera" | "screen" | "incoming", Record<"on" | "off", [string, string]>>}
 */
const TOGGLE_TEXT = {
  microphone: {
    on: ["Turn the microphone off", "Mute"],
    off: ["Turn the microphone on", "Unmute"],
  },
  camera: { on: ["Turn the camera off", "Stop video"], off: ["Turn the camera on", "Start video"] },
  screen: { on: ["Stop sharing your screen", "Stop sharing"], off: ["Share your screen", "Share"] },
  incoming: {
    on: ["Stop the others' video for you alone: you still hear them", "Video off for me"],
    off: ["See the others' video again", "Video on for me"],
  },
};

/**
 * @param {HTMLButtonElement} b
 * @param {boolean} on
 * @param {keyof typeof TOGGLE_TEXT} name
 */
function toggle(b, on, name) {
  const pressed = String(on);
  if (b.getAttribute("aria-pressed") === pressed && b.firstChild) return;
  const [title, label] = TOGGLE_TEXT[name][on ? "on" : "off"];
  b.setAttribute("aria-pressed", pressed);
  b.title = title;
  b.innerHTML = `${icon(name, name !== "screen" && !on)}<span>${label}</span>`;
}

/**
 * An icon and a label on `b`, redrawn only when the label changes (a button redrawn
 * under the pointer can lose the click).
 * @param {HTMLButtonElement} b @param {Parameters<typeof icon>[0]} name @param {string} label
 */
function labelWithIcon(b, name, label) {
  if (b.querySelector(".nbc-icon") && b.querySelector("span")?.textContent === label) return;
  b.innerHTML = icon(name);
  const text = document.createElement("span");
  text.textContent = label;
  b.append(text);
}
