// @ts-check
// The room's chat in this browser: the messages by server id (each shown once, however
// many copies arrive), and the chat panel of a view. Text is always text: links and
// `code` are made as DOM nodes with textContent, never through HTML.

/**
 * @typedef {import("./protocol.js").ChatFrame} ChatFrame
 * @typedef {{ messages: readonly ChatFrame[], total: number }} ChatSnapshot  `total`
 *   counts every message ever added: a view's unread count is the ones past what it saw
 */

/** Messages kept in the page; the kernel keeps its own record. */
export const MAX_CHAT_MESSAGES = 500;

export class ChatLog {
  /** @type {ChatFrame[]} */ #messages = [];
  /** @type {Set<string>} every id seen, so a copy that comes back later is known */
  #ids = new Set();
  #total = 0;

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
    return Object.freeze({ messages: Object.freeze([...this.#messages]), total: this.#total });
  }
}

// A link runs to the next space; trailing punctuation is the sentence's, not the link's.
const LINK = /https?:\/\/[^\s<>"'`]+/g;
const TRAILING = /[.,;:!?)\]}]+$/;

/**
 * `text` as nodes: `backticked` runs in <code>, http(s) links as <a> opening a new tab
 * with rel="noopener noreferrer", everything else as text nodes.
 * @param {string} text
 * @returns {DocumentFragment}
 */
export function renderChatText(text) {
  const fragment = document.createDocumentFragment();
  const parts = text.split("`");
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
    if (start > last) fragment.append(text.slice(last, start));
    const link = document.createElement("a");
    link.href = url;
    link.textContent = url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    fragment.append(link);
    last = start + url.length;
  }
  if (last < text.length) fragment.append(text.slice(last));
}

/** @param {number} ms */
function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

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
  input.maxLength = 4096;
  const submit = document.createElement("button");
  submit.type = "submit";
  submit.className = "nbc-button";
  submit.dataset.action = "chat-send";
  submit.textContent = "Send";
  form.append(input, submit);
  panel.append(list, form);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    send(text);
    input.value = "";
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
        head.append(who, when);
        if (message.from_code) {
          const tag = document.createElement("span");
          tag.className = "nbc-chat-code-tag";
          tag.textContent = "from code";
          head.append(tag);
        }
        item.append(head, body);
        list.insertBefore(item, list.children[index] ?? null);
      });
      if (!panel.hidden) list.scrollTop = list.scrollHeight;
    },
  };
}
