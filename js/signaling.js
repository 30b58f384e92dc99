// @ts-check
// The WebSocket to the signaling server: join, resume after a drop, queue while away.
import { CLOSE_DROPPED, CLOSE_LEFT, CLOSE_REPLACED, SERVER, leaveMessage } from "./protocol.js";

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 8000;
const MAX_QUEUED = 500;

/**
 * Where to connect: `signalingUrl` (with `token`) when given, else this page's Jupyter server.
 * @param {string} signalingUrl
 * @param {string} token
 * @returns {{ url: string, shown: string, hint: string } | { error: string }}
 */
export function discoverSignalingUrl(signalingUrl, token) {
  if (signalingUrl) {
    return withToken(
      signalingUrl,
      token,
      "is `nbconference serve` running there, and the token right?",
    );
  }
  const script = globalThis.document?.getElementById("jupyter-config-data");
  if (!script?.textContent) {
    return {
      error:
        "This page has no Jupyter server configuration, so the signaling server is unknown: " +
        "run `nbconference serve` and set signaling_url (and token) on the widget.",
    };
  }
  /** @type {{ baseUrl?: string, token?: string }} */
  let config;
  try {
    config = JSON.parse(script.textContent);
  } catch {
    return { error: "The page's Jupyter configuration is not valid JSON; set signaling_url." };
  }
  const base = (config.baseUrl ?? "/").replace(/\/?$/, "/");
  const origin = location.origin.replace(/^http/, "ws");
  return withToken(
    `${origin}${base}nbconference/signal`,
    token || config.token || "",
    "is the nbconference server extension enabled on this Jupyter server?",
  );
}

/**
 * @param {string} url @param {string} token
 * @param {string} hint  what to check when the server cannot be reached
 */
function withToken(url, token, hint) {
  const shown = url;
  if (!token) return { url, shown, hint };
  const sep = url.includes("?") ? "&" : "?";
  return { url: `${url}${sep}token=${encodeURIComponent(token)}`, shown, hint };
}

/**
 * @typedef {object} SignalingHandlers
 * @property {() => Record<string, unknown>} joinMessage  the join frame, without `resume`
 * @property {(welcome: any) => void} onWelcome  after every welcome (first join or resume)
 * @property {(frame: any) => void} onFrame  every other server frame
 * @property {(status: "connecting" | "reconnecting" | "error", reason: string) => void} onStatus
 *   "error": never joined yet and the server cannot be reached; retrying goes on
 * @property {(reason: string) => void} onFatal  the socket will not come back by itself
 */

/**
 * One signaling connection. It reconnects by itself with exponential backoff and rejoins
 * with its resume token, so the server keeps our peer id and the peer connections live on.
 */
export class SignalingSession {
  /**
   * @param {{ url: string, shown: string, hint: string }} target  from discoverSignalingUrl
   * @param {SignalingHandlers} handlers
   */
  constructor(target, handlers) {
    this.url = target.url;
    this.shownUrl = target.shown;
    this.hint = target.hint;
    this.handlers = handlers;
    /** @type {WebSocket | null} */
    this.socket = null;
    /** @type {string | null} */
    this.resumeToken = null;
    this.joined = false;
    this.everJoined = false;
    this.closed = false;
    this.attempt = 0;
    /** @type {string[]} frames held while the socket is down, sent after a resume */
    this.queue = [];
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
  }

  connect() {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    if (this.attempt === 0 && !this.everJoined) this.handlers.onStatus("connecting", "");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    this.joined = false;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      const join = this.handlers.joinMessage();
      if (this.resumeToken) join.resume = this.resumeToken;
      socket.send(JSON.stringify(join));
    };
    socket.onmessage = (event) => {
      if (socket !== this.socket) return;
      let frame;
      try {
        frame = JSON.parse(String(event.data));
      } catch {
        console.warn("nbconference: ignoring a frame that is not JSON", event.data);
        return;
      }
      if (frame.type === SERVER.WELCOME) this.welcome(frame);
      else this.handlers.onFrame(frame);
    };
    socket.onclose = (event) => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.joined = false;
      if (this.closed) return;
      if (event.code === CLOSE_REPLACED) {
        this.closed = true;
        this.handlers.onFatal("This call continued on another connection (replaced).");
        return;
      }
      const why = opened
        ? `The connection to the signaling server was lost (code ${event.code})`
        : `Cannot reach the signaling server at ${this.shownUrl} (${this.hint})`;
      this.scheduleRetry(why);
    };
  }

  /** @param {any} welcome */
  welcome(welcome) {
    this.joined = true;
    this.everJoined = true;
    this.attempt = 0;
    this.resumeToken = welcome.resume ?? null;
    // Signals queued for a peer id that no longer exists would only earn errors.
    const queued = welcome.resumed ? this.queue : [];
    this.queue = [];
    this.handlers.onWelcome(welcome);
    for (const frame of queued) this.socket?.send(frame);
  }

  /** @param {string} reason */
  scheduleRetry(reason) {
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    this.attempt += 1;
    const seconds = (delay / 1000).toFixed(1).replace(/\.0$/, "");
    this.handlers.onStatus(
      this.everJoined ? "reconnecting" : "error",
      `${reason}; retrying in ${seconds} s.`,
    );
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** Try now instead of waiting for the backoff (the user asked). */
  retryNow() {
    if (this.closed || this.socket) return;
    this.connect();
  }

  /**
   * Send now when joined, else hold the frame until we are back (bounded).
   * @param {Record<string, unknown>} msg
   */
  send(msg) {
    const frame = JSON.stringify(msg);
    if (this.joined && this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(frame);
      return;
    }
    if (this.closed) return;
    if (this.queue.length >= MAX_QUEUED) this.queue.shift();
    this.queue.push(frame);
  }

  /** Test helper: drop the socket the way a network failure would (not a goodbye). */
  simulateDrop() {
    this.socket?.close(CLOSE_DROPPED, "simulated drop");
  }

  /** Say goodbye and close for good. */
  leave() {
    if (this.socket?.readyState === WebSocket.OPEN && this.joined) {
      this.socket.send(JSON.stringify(leaveMessage()));
    }
    this.close();
  }

  /** Close for good; a clean close code also tells the server we left. */
  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.queue = [];
    const socket = this.socket;
    this.socket = null;
    this.joined = false;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(CLOSE_LEFT, "left");
  }
}
