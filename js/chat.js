// @ts-check
// The room's chat in this browser: the messages by server id (each shown once, however
// many copies arrive), and the chat panel of a view. Text is always text: links and
// `code` are made as DOM nodes with textContent, never through HTML.
import { unverifiedTag } from "./people.js";
import { MAX_CHAT_BYTES } from "./protocol.js";

/**
 * @typedef {import("./protocol.js").ChatFrame} ChatFrame
 * @typedef {{ messages: readonly ChatFrame[], total: number, maxBytes: number }} ChatSnapshot
 *   `total` counts every message ever added: a view's unread count is the ones past what
 *   it saw; `maxBytes` is the room's longest message in UTF-8 bytes (welcome's limits)
 */

/** Messages kept in the page; the kernel keeps its own record. */
export const MAX_CHAT_MESSAGES = 500;

export class ChatLog {
  /** @type {ChatFrame[]} */ #messages = [];
  /** @type {Set<string>} every id seen, so a copy that comes back later is known */
  #ids = new Set();
  #total = 0;
  #maxBytes = MAX_CHAT_BYTES;

  /**
   * The room's chat limit, as the server's welcome announced it.
   * @param {number} maxBytes
   */
  setMaxBytes(maxBytes) {
    this.#maxBytes = maxBytes;
  }

  /**
   * Add a message; false when its id was seen already (another copy).
   * @param {ChatFrame} frame
   */
  add(frame) {
    if (this.#ids.has(frame.id)) return false;
    this.#ids.add(frame.id);
    this.#total += 1;
    this.#messages.push(frame);
    // The history a late joiner gets may be older than live messages that came first.
    this.#messages.sort((a, b) => a.time - b.time);
    if (this.#messages.length > MAX_CHAT_MESSAGES) this.#messages.shift();
    return true;
  }

  /** @returns {ChatSnapshot} */
  snapshot() {
    return Object.freeze({
      messages: Object.freeze([...this.#messages]),
      total: this.#total,
      maxBytes: this.#maxBytes,
    });
  }
}

// A link runs to the next space; trailing punctuation is the sentence's, not the link's.
const LINK = /https?:\/\/[^\s<>"'`]+/g;
const TRAILING = /[.,;:!?)\]}]+$/;
// Bidi controls (U+061C, U+200E-200F, U+202A-202E, U+2066-2069) can make text read
// backwards ("gpj.exe" shown as "exe.jpg"). The server removes them; older servers did not.
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// Scheme, authority (user info, host, port) and the rest of an http(s) link.
const LINK_PARTS = /^(https?:\/\/)([^/?#]*)(.*)$/is;

/** @param {string} text */
export function stripBidi(text) {
  return text.replace(BIDI_CONTROLS, "");
}

/**
 * How a link is shown: as written, but with its host in punycode (what the URL API
 * gives) when the host is not plain ASCII, so that a look-alike domain ("аpple.com"
 * with a Cyrillic "а") shows as the different domain it is ("xn--pple-43d.com").
 * Null when the browser cannot parse it as a URL (it then stays text).
 * @param {string} url
 * @returns {{ href: string, text: string } | null}
 */
export function linkText(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  const parts = LINK_PARTS.exec(url);
  if (!parts) return null;
  const [, scheme = "", authority = "", rest = ""] = parts;
  if (/^[\x21-\x7e]*$/.test(authority)) return { href: parsed.href, text: url };
  const at = authority.lastIndexOf("@");
  const userInfo = at >= 0 ? authority.slice(0, at + 1) : "";
  return { href: parsed.href, text: `${scheme}${userInfo}${parsed.host}${rest}` };
}

/**
 * `text` as nodes: `backticked` runs in <code>, http(s) links as <a> opening a new tab
 * with rel="noopener noreferrer", everything else as text nodes.
 * @param {string} text
 * @returns {DocumentFragment}
 */
export function renderChatText(text) {
  const fragment = document.createDocumentFragment();
  const parts = stripBidi(text).split("`");
  // An unmatched last backtick is just a character.
  const paired = parts.length % 2 === 1 ? parts.length : parts.length - 1;
  parts.forEach((part, index) => {
    if (index % 2 === 1 && index < paired) {
      const code = document.createElement("code");
      code.textContent = part;
      fragment.append(code);
    } else {
      const plain = index % 2 === 1 ? `\`${part}` : part;
      appendWithLinks(fragment, plain);
    }
  });
  return fragment;
}

/** @param {DocumentFragment} fragment @param {string} text */
function appendWithLinks(fragment, text) {
  let last = 0;
  for (const match of text.matchAll(LINK)) {
    const start = match.index ?? 0;
    const url = match[0].replace(TRAILING, "");
    const shown = linkText(url);
    if (!shown) continue; // not a URL after all: it stays in the text
    if (start > last) fragment.append(text.slice(last, start));
    const link = document.createElement("a");
    link.href = shown.href;
    link.textContent = shown.text;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    fragment.append(link);
    last = start + url.length;
  }
  if (last < text.length) fragment.append(text.slice(last));
}

const utf8 = new TextEncoder();
/** Past this share of the limit, the panel says how much a message may still hold. */
const NEAR_LIMIT = 0.8;

/**
 * How `text` stands against the room's chat limit, counted as the server counts it (UTF-8
 * bytes, so "é" is 2 and most emoji 4); `say` is what the panel shows ("" while far).
 * @param {string} text @param {number} maxBytes
 */
export function chatRoomLeft(text, maxBytes) {
  const bytes = utf8.encode(text).length;
  const left = maxBytes - bytes;
  const say =
    left < 0
      ? `${-left} bytes over the limit of ${maxBytes}`
      : bytes >= maxBytes * NEAR_LIMIT
        ? `${left} ${left === 1 ? "byte" : "bytes"} left`
        : "";
  return { bytes, left, over: left < 0, say };
}

/**
 * Why a message over the limit was not sent, in a sentence.
 * @param {number} bytes @param {number} maxBytes
 */
export function tooLongSentence(bytes, maxBytes) {
  return (
    `Not sent: this message is ${bytes} bytes and the room takes at most ${maxBytes} ` +
    "(accented letters count 2, emoji 4). Shorten it and send again."
  );
}

/** @param {number} ms */
function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** Panels made so far: each names its count element for aria-describedby. */
let panels = 0;

/**
 * The chat panel of one view: the messages, a box to write in, and the unread count on
 * the toggle. Open or closed per view; what a closed panel has not shown is unread.
 * @param {(text: string) => void} send
 */
export function chatPanel(send) {
  const panel = document.createElement("section");
  panel.className = "nbc-chat";
  panel.setAttribute("aria-label", "Chat");
  panel.hidden = true;
  const list = document.createElement("ol");
  list.className = "nbc-chat-messages";
  list.setAttribute("aria-live", "polite");
  const form = document.createElement("form");
  form.className = "nbc-chat-form";
  const input = document.createElement("input");
  input.type = "text";
  input.className = "nbc-chat-input";
  input.placeholder = "Message everyone";
  input.setAttribute("aria-label", "Chat message");
  // No maxLength: it counts characters, the server counts bytes. The count below says
  // how much is left, and a message over the limit is not sent.
  const room = document.createElement("div");
  room.className = "nbc-chat-limit";
  room.id = `nbc-chat-limit-${++panels}`;
  room.setAttribute("role", "status");
  room.hidden = true;
  input.setAttribute("aria-describedby", room.id);
  const submit = document.createElement("button");
  submit.type = "submit";
  submit.className = "nbc-button";
  submit.dataset.action = "chat-send";
  submit.textContent = "Send";
  form.append(input, submit);
  panel.append(list, form, room);
  let maxBytes = MAX_CHAT_BYTES;
  /** Show what is left of the limit, or `sentence` instead. @param {string} [sentence] */
  const showRoomLeft = (sentence) => {
    const state = chatRoomLeft(input.value, maxBytes);
    room.textContent = sentence ?? state.say;
    room.hidden = !room.textContent;
    room.dataset.over = String(state.over);
    input.setAttribute("aria-invalid", String(state.over));
  };
  input.addEventListener("input", () => showRoomLeft());
  showRoomLeft();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    const state = chatRoomLeft(text, maxBytes);
    // The server refuses it anyway (chat-too-long); saying so here keeps the text.
    if (state.over) {
      showRoomLeft(tooLongSentence(state.bytes, maxBytes));
      return;
    }
    send(text);
    input.value = "";
    showRoomLeft();
  });

  /** @type {Set<string>} ids already in the list */
  const shown = new Set();
  let seen = 0;
  let latest = 0;

  return {
    panel,
    get open() {
      return !panel.hidden;
    },
    /** @param {boolean} open */
    setOpen(open) {
      panel.hidden = !open;
      if (open) {
        seen = latest;
        input.focus();
      }
    },
    /** Messages the closed panel has not shown. */
    get unread() {
      return panel.hidden ? latest - seen : 0;
    },
    /** @param {ChatSnapshot} chat */
    update(chat) {
      if (chat.maxBytes !== maxBytes) {
        maxBytes = chat.maxBytes;
        showRoomLeft();
      }
      latest = chat.total;
      if (!panel.hidden) seen = latest;
      const ids = new Set(chat.messages.map((m) => m.id));
      for (const item of [...list.children]) {
        const id = /** @type {HTMLElement} */ (item).dataset.id ?? "";
        if (!ids.has(id)) {
          item.remove();
          shown.delete(id);
        }
      }
      chat.messages.forEach((message, index) => {
        if (shown.has(message.id)) return;
        shown.add(message.id);
        const item = document.createElement("li");
        item.className = "nbc-chat-message";
        item.dataset.id = message.id;
        item.dataset.from = message.from;
        if (message.from_code) item.dataset.fromCode = "";
        const who = document.createElement("span");
        who.className = "nbc-chat-name";
        who.textContent = message.name || "someone";
        if (message.color) who.style.color = message.color;
        const when = document.createElement("time");
        when.className = "nbc-chat-time";
        when.dateTime = new Date(message.time).toISOString();
        when.textContent = clock(message.time);
        const body = document.createElement("div");
        body.className = "nbc-chat-text";
        body.append(renderChatText(message.text));
        const head = document.createElement("div");
        head.className = "nbc-chat-head";
        head.append(who);
        // The server stamps who sent it; a sender it cannot vouch for is marked.
        if (message.user === null) head.append(unverifiedTag());
        head.append(when);
        if (message.from_code) {
          // The sender's word, which the server cannot check (a page posts its kernel's
          // messages): said as a claim, never shown as a badge of trust.
          const claim = document.createElement("span");
          claim.className = "nbc-chat-code-claim";
          claim.textContent = "says it was sent from code";
          claim.title = "The sender says code in a notebook posted this; nobody can check that";
          head.append(claim);
        }
        item.append(head, body);
        list.insertBefore(item, list.children[index] ?? null);
      });
      if (!panel.hidden) list.scrollTop = list.scrollHeight;
    },
  };
}
