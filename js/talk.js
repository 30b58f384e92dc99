// @ts-check
// The room's chat and our raised hand, for one Conference: the chat log (chat.js), our
// hand as we want it and as the server stamped it, and who lowered whose hand last
// (hands.js). The Conference keeps the call; this keeps the talk, and reaches the call
// only through the hooks it is given.
import { ChatLog } from "./chat.js";
import { loweredNote } from "./hands.js";
import { chatMessage, lowerHandMessage } from "./protocol.js";

/**
 * @typedef {import("./protocol.js").ChatFrame} ChatFrame
 * @typedef {import("./protocol.js").PeerStateFrame} PeerStateFrame
 *
 * @typedef {object} TalkHooks  what the talk needs of the call
 * @property {(frame: import("./protocol.js").ClientFrame) => void} send  onto the
 *   signaling socket, if any
 * @property {() => boolean} joined  in the room now, with a socket
 * @property {() => string} selfId  our peer id, "" until welcome
 * @property {(id: string) => string} nameOf  a peer's name (ours too)
 * @property {() => void} sayState  tell the room our state (devices and hand)
 * @property {(frame: ChatFrame) => void} reportChat  tell the kernel of a new message
 * @property {() => void} changed
 */

/** How long "Ada lowered your hand" shows. */
const NOTE_MS = 8000;

export class Talk {
  /** @type {TalkHooks} */ #call;
  #chat = new ChatLog();
  /** our hand as we want it (sent in every state) */
  #hand = false;
  /** when the server says our hand went up (ms), 0 while it is down */
  #handStamp = 0;
  /** who lowered whose hand last, for a few seconds */
  #handNote = "";
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #handNoteTimer;

  /** @param {TalkHooks} hooks */
  constructor(hooks) {
    this.#call = hooks;
  }

  /** Our hand as we want it (for our state). */
  get hand() {
    return this.#hand;
  }

  /** When the server says our hand went up (ms), 0 while it is down. */
  get handStamp() {
    return this.#handStamp;
  }

  /** Our part of the snapshot: the chat and the note on a lowered hand. */
  snapshot() {
    return { chat: this.#chat.snapshot(), handNote: this.#handNote };
  }

  /**
   * Post `text` to the room's chat; false when we are not in the room now (the server
   * answers a refused message with an error, shown as a notice).
   * @param {string} text @param {boolean} fromCode  the notebook's code posts it
   */
  sendChat(text, fromCode) {
    if (!this.#call.joined() || !text.trim()) return false;
    this.#call.send(chatMessage(text, fromCode));
    return true;
  }

  /** Raise or lower our own hand. @param {boolean} up */
  raiseHand(up) {
    if (up === this.#hand) return;
    this.#hand = up;
    if (!up) this.#handStamp = 0;
    this.#call.sayState();
    this.#call.changed();
  }

  /** Lower anyone's raised hand (ours too); the room hears we did. @param {string} peerId */
  lowerHand(peerId) {
    if (peerId === this.#call.selfId()) {
      this.raiseHand(false);
      return;
    }
    this.#call.send(lowerHandMessage(peerId));
  }

  /**
   * A welcome: the room's chat limit, and our hand as the server kept it.
   * @param {import("./protocol.js").WelcomeFrame} welcome
   */
  welcomed(welcome) {
    this.#chat.setMaxBytes(welcome.limits.max_chat_bytes);
    const hand = welcome.peer?.state.hand;
    this.#handStamp = typeof hand === "number" ? hand : 0;
  }

  /** A chat message, told to the kernel the first time we see it. @param {ChatFrame} frame */
  heardChat(frame) {
    if (!this.#chat.add(frame)) return;
    this.#call.reportChat(frame);
    this.#call.changed();
  }

  /**
   * A `peer-state` about us: the server's stamp of our raised hand, or someone lowered it.
   * @param {PeerStateFrame} frame
   */
  ownState(frame) {
    const hand = frame.state.hand;
    this.#handStamp = typeof hand === "number" ? hand : 0;
    if (hand === false) this.#hand = false;
    this.noteHand(frame);
    this.#call.changed();
  }

  /** Say who lowered whose hand, for a while. @param {PeerStateFrame} frame */
  noteHand(frame) {
    const note = loweredNote(frame, this.#call.selfId(), this.#call.nameOf);
    if (!note) return;
    this.#handNote = note;
    clearTimeout(this.#handNoteTimer);
    this.#handNoteTimer = setTimeout(() => {
      this.#handNote = "";
      this.#call.changed();
    }, NOTE_MS);
  }

  /** Moved to another room (a breakout group, or back): a raised hand stays behind. */
  moved() {
    this.#hand = false;
  }

  /** Hung up: our hand is down. */
  hungUp() {
    this.#handStamp = 0;
    this.#hand = false;
  }

  /** The call is gone for good. */
  close() {
    clearTimeout(this.#handNoteTimer);
  }
}
