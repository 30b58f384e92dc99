// @ts-check
// One view of a conference: status line, notices, the grid of video tiles (grid.js), the
// call controls (controls.js), raised hands and chat. It renders the conference's
// snapshot() and calls its actions; media, sockets and audio belong to the conference.
import { breakoutBanner, breakoutStarter, GROUPS_NOT_RECORDED } from "./breakout.js";
import { chatPanel } from "./chat.js";
import { callControls, deviceRequests } from "./controls.js";
import { diagnosisPanel } from "./diagnosis-panel.js";
import { keepInSight } from "./floating.js";
import { tileGrid } from "./grid.js";
import { handsPanel } from "./hands.js";
import { hostMuteNotice } from "./host-menu.js";
import { lobbyPanel, waitingNotice } from "./lobby.js";
import { popOut } from "./popout.js";
import { prejoinPanel } from "./prejoin.js";
import { recordingBanner } from "./recording-banner.js";
import { sightOf } from "./sight.js";
import { h } from "./tiles.js";

/**
 * @typedef {import("./conference.js").ConferenceView} ConferenceView
 * @typedef {import("./snapshot.js").ConferenceSnapshot} ConferenceSnapshot
 */

/** @param {number} count */
function plural(count) {
  return count === 1 ? "1 peer" : `${count} peers`;
}

export const LOCAL_SIGNALING =
  "Using a local signaling server. Restart Jupyter to use the built-in one.";
export const HUB_SIGNALING = "via the Hub's nbconference service";

/** Shown for as long as the server's media server (the SFU) does not answer. */
export const SFU_AWAY =
  "The media server is not reachable: no video or sound gets through for now. Trying again…";

/**
 * The call, named for people: the notebook it belongs to, or its room.
 * @param {ConferenceSnapshot} c
 */
function callName(c) {
  return c.label || `room ${c.room}`;
}

/** @param {ConferenceSnapshot} c */
export function statusText(c) {
  switch (c.status) {
    case "idle":
      return c.elsewhere
        ? `You are in ${callName(c)} in another tab or cell of this browser.`
        : `Not in ${callName(c)}.`;
    case "connecting":
      return c.detail || `Connecting to ${callName(c)}…`;
    case "joined": {
      const others = c.peers.length;
      const waiting = others ? plural(others) : "waiting for others";
      const local = c.localSignaling ? ` · ${LOCAL_SIGNALING}` : "";
      const hub = c.hubSignaling ? ` · ${HUB_SIGNALING}` : "";
      const group = c.breakout?.group ? ` · breakout group ${c.breakout.group}` : "";
      return `In ${callName(c)}${group} as ${c.local.name} · ${waiting}${local}${hub}`;
    }
    case "waiting": {
      const name = callName(c);
      return `${name[0]?.toUpperCase() ?? ""}${name.slice(1)} is locked: you are in its lobby.`;
    }
    case "reconnecting":
      return `Reconnecting to ${callName(c)}; calls in progress continue. ${c.detail}`.trim();
    case "left":
      return `Left ${callName(c)}.`;
    case "error":
      return c.error || "Something went wrong.";
  }
}

/**
 * @param {HTMLElement} el  the view's element
 * @param {ConferenceView} conference
 * @returns {() => void} cleanup
 */
export function renderView(el, conference) {
  const root = h("div", "nbc-root");
  const header = h("div", "nbc-header");
  const dot = h("span", "nbc-dot");
  const status = h("div", "nbc-status");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  header.append(dot, status);
  const notice = h("div", "nbc-notice");
  notice.setAttribute("role", "alert");
  const mediaNotice = h("div", "nbc-notice nbc-media-error");
  const hostMute = hostMuteNotice();
  const waiting = waitingNotice();
  const breakout = breakoutBanner({
    endBreakout: () => conference.endBreakout(),
    visit: (group) => conference.visit(group),
  });
  const startBreakout = breakoutStarter({
    breakout: (split, minutes) => conference.breakout(split, minutes),
  });
  const lobby = lobbyPanel({
    admit: (peerId) => conference.admit(peerId),
    deny: (peerId) => conference.deny(peerId),
  });
  const sfuAway = h("div", "nbc-notice nbc-sfu-away");
  sfuAway.setAttribute("role", "alert");
  sfuAway.textContent = SFU_AWAY;
  const chat = chatPanel((text) => conference.sendChat(text));
  const hands = handsPanel(
    (peerId) => conference.lowerHand(peerId),
    (group) => conference.visit(group),
  );
  const diagnosis = diagnosisPanel(() => void conference.diagnose());

  /** @type {(() => void) | null} closes the pop-out window while the call is in it */
  let closePopOut = null;
  const placeholder = h("div", "nbc-popped-out");
  const popped = h("span");
  popped.textContent = "The call is in its own window.";
  const bringBack = h("button", "nbc-button");
  bringBack.textContent = "Bring it back";
  bringBack.dataset.action = "bring-back";
  bringBack.addEventListener("click", () => closePopOut?.());
  placeholder.append(popped, bringBack);
  const togglePopOut = async () => {
    if (closePopOut) {
      closePopOut();
      return;
    }
    try {
      closePopOut = await popOut(root, placeholder, () => {
        closePopOut = null;
        sight.setPopped(false);
        seen.setPopped(false);
        update();
      });
      sight.setPopped(true);
      seen.setPopped(true);
      update();
    } catch (error) {
      console.warn("nbconference: pop-out failed", error);
    }
  };
  const controls = callControls(conference, {
    toggleChat: () => {
      chat.setOpen(!chat.open);
      update();
    },
    togglePopOut,
    toggleDiagnosis: () => {
      diagnosis.setOpen(!diagnosis.open);
      update();
    },
  });
  const requests = deviceRequests(conference);
  const prejoin = prejoinPanel({
    finishPrejoin: (choice) => void conference.finishPrejoin(choice),
    chooseDevice: (kind, deviceId) => conference.chooseDevice(kind, deviceId),
  });
  // What this view shows of each peer, and at what size: what the peers send us.
  const seen = sightOf(conference).watchRoot();
  const grid = tileGrid(conference, seen.root);

  const recording = recordingBanner();
  root.append(
    header,
    recording.el,
    breakout.el,
    startBreakout.el,
    notice,
    waiting.el,
    hostMute.el,
    lobby.el,
    sfuAway,
    mediaNotice,
    requests.el,
    prejoin.el,
    hands.el,
    grid.el,
    controls.el,
    diagnosis.el,
    chat.panel,
  );
  el.append(root);
  const sight = keepInSight(conference, root);

  const update = () => {
    const c = conference.snapshot();
    root.dataset.instanceId = c.instanceId;
    root.dataset.status = c.status;
    root.dataset.peerId = c.local.id;
    root.dataset.elsewhere = String(c.elsewhere);
    status.textContent = statusText(c);
    notice.textContent = c.notice;
    notice.hidden = !c.notice;
    sfuAway.hidden = !c.sfuAway || c.status !== "joined";
    const inRoom = c.status === "joined" || c.status === "reconnecting";
    // A recorder stays in the main room while its groups meet.
    recording.update(inRoom ? c.recorders : [], c.breakout ? GROUPS_NOT_RECORDED : "");
    breakout.update(c);
    startBreakout.update(c);
    mediaNotice.textContent = c.mediaError;
    mediaNotice.hidden = !c.mediaError || c.status === "left";
    hostMute.update(c);
    waiting.update(c);
    lobby.update(c);
    chat.update(c.chat);
    diagnosis.update(c);
    hands.update(c);
    controls.update(c, {
      chatOpen: chat.open,
      unread: chat.unread,
      popped: closePopOut !== null,
      diagnosisOpen: diagnosis.open,
    });
    requests.update(c);
    grid.update(c);
    // Before the first join: the panel instead of the grid and the toolbar.
    prejoin.update(c.prejoin, c.devices);
    grid.el.hidden = c.prejoin !== null;
    controls.el.hidden = c.prejoin !== null;
  };

  conference.addEventListener("change", update);
  update();
  return () => {
    conference.removeEventListener("change", update);
    closePopOut?.();
    sight.unwatch();
    grid.dispose();
    prejoin.dispose();
    root.remove();
    placeholder.remove();
  };
}
