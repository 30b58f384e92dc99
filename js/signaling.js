// @ts-check
// The WebSocket to the signaling server: join, resume after a drop, queue while away.
import {
  CLIENT,
  CLOSE_DENIED,
  CLOSE_DROPPED,
  CLOSE_ENDED,
  CLOSE_LEFT,
  CLOSE_POLICY,
  CLOSE_REMOVED,
  CLOSE_REPLACED,
  FATAL_JOIN_ERRORS,
  FINAL_CLOSE_CODES,
  RECONNECT_FIRST_DELAY_MS,
  RECONNECT_MAX_DELAY_MS,
  SERVER,
  HUB_LOGIN_PATH,
  SIGNALING_MODE,
  SIGNAL_PATH,
  describeJoinRefusal,
  leaveMessage,
  pingMessage,
  readServerFrame,
  readSfuFrame,
} from "./protocol.js";
import { TEST_HOOKS } from "./test-hooks.js";

/** Frames held while the socket is down; the oldest go first. */
const MAX_QUEUED = 500;

/**
 * What the kernel says about where to join (its "signaling" message).
 * @typedef {object} SignalingInfo
 * @property {import("./protocol.js").SignalingMode} mode  pending: the
 *   kernel is still finding out; server: this page's Jupyter server has the endpoint;
 *   local: it has none, use `url` (this user's local server); unknown: the kernel cannot
 *   tell; given: the widget's signaling_url, with `token`; hub: the Hub's nbconference
 *   service, whose path prefix is `url` (on this page's origin, signed in as the person)
 * @property {string} url
 * @property {string} token  never in the synced widget state: it comes by message
 * @property {string} advice  what to do when `url` (or, without one, this page's server)
 *   cannot be reached: the call then stops rather than retry in vain
 *
 * @typedef {object} Target  a signaling server to join
 * @property {string} url  with the token, where one is needed
 * @property {string} shown  without it, for messages
 * @property {string} hint  what to check while it cannot be reached
 * @property {boolean} local  this user's local stand-in for the Jupyter server's endpoint
 * @property {string} advice  when set, an unreachable server is final: say this
 * @property {string} login  the Hub service's sign-in page, to load before the socket
 *   opens (see hub-login.js); "" elsewhere
 */

/**
 * Where to connect, from the widget's `signaling_url` and what the kernel said. `wait`:
 * the token for `signaling_url` has not come from the kernel yet, or (under a JupyterHub)
 * its word on where to join.
 * @param {string} signalingUrl
 * @param {SignalingInfo | null} info
 * @returns {Target | { error: string } | { wait: true }}
 */
export function signalingTarget(signalingUrl, info) {
  if (signalingUrl) {
    if (info?.mode !== SIGNALING_MODE.GIVEN) return { wait: true };
    const hint = "is `nbconference serve` running there, and the token right?";
    return target(withToken(signalingUrl, info.token), signalingUrl, hint, false, "");
  }
  if (info?.mode === SIGNALING_MODE.LOCAL) {
    const hint = "a local signaling server stands in for this Jupyter server's";
    return target(withToken(info.url, info.token), info.url, hint, true, info.advice);
  }
  if (info?.mode === SIGNALING_MODE.HUB) {
    // Same origin as this page: the service's own sign-in cookie authenticates the socket.
    const prefix = info.url.replace(/\/?$/, "/");
    const url = `${location.origin.replace(/^http/, "ws")}${prefix}${SIGNAL_PATH}`;
    const hint = "is the Hub's nbconference service running?";
    return { ...target(url, url, hint, false, ""), login: `${prefix}${HUB_LOGIN_PATH}` };
  }
  const page = pageEndpoint();
  if ("error" in page) return page;
  // Under a JupyterHub the kernel may name the Hub's service: a page that joined its own
  // server meanwhile would be in another room. Wait for its word (not for a decision: a
  // kernel that cannot tell says so, and the page then tries its own server).
  if (page.hub && (!info || info.mode === SIGNALING_MODE.PENDING)) return { wait: true };
  // Same origin: the login cookie authenticates the socket, as JupyterLab's own sockets;
  // a token in the URL would end up in proxies' logs.
  const hint = "is the nbconference server extension enabled on this Jupyter server?";
  return target(page.url, page.url, hint, false, info?.advice ?? "");
}

/**
 * @param {string} url @param {string} shown @param {string} hint @param {boolean} local
 * @param {string} advice
 * @returns {Target}
 */
function target(url, shown, hint, local, advice) {
  return { url, shown, hint, local, advice, login: "" };
}

/**
 * @returns {{ url: string, hub: boolean } | { error: string }} this page's Jupyter
 *   server's endpoint, and whether that server runs under a JupyterHub
 */
function pageEndpoint() {
  const script = globalThis.document?.getElementById("jupyter-config-data");
  if (!script?.textContent) {
    return {
      error:
        "This page has no Jupyter server configuration, so the signaling server is unknown: " +
        "run `nbconference serve` and set signaling_url (and token) on the widget.",
    };
  }
  /** @type {unknown} */
  let config;
  try {
    config = JSON.parse(script.textContent);
  } catch {
    return { error: "The page's Jupyter configuration is not valid JSON; set signaling_url." };
  }
  const baseUrl =
    config && typeof config === "object" && "baseUrl" in config ? config.baseUrl : undefined;
  const base = (typeof baseUrl === "string" && baseUrl ? baseUrl : "/").replace(/\/?$/, "/");
  const origin = location.origin.replace(/^http/, "ws");
  const hub = typeof config === "object" && config !== null && "hubPrefix" in config;
  return { url: `${origin}${base}${SIGNAL_PATH}`, hub };
}

/** @param {string} url @param {string} token */
function withToken(url, token) {
  if (!token) return url;
  const sep = url.includes("?") ? "&" : "?";
  return `${url}${sep}token=${encodeURIComponent(token)}`;
}

/**
 * @typedef {import("./protocol.js").ClientFrame} ClientFrame
 * @typedef {import("./protocol.js").JoinFrame} JoinFrame
 * @typedef {import("./protocol.js").ServerFrame} ServerFrame
 * @typedef {import("./protocol.js").WelcomeFrame} WelcomeFrame
 * @typedef {import("./protocol.js").ErrorFrame} ErrorFrame
 * @typedef {import("./protocol.js").IceServersFrame} IceServersFrame
 * @typedef {import("./sfu/plane.js").SfuFrame} SfuFrame
 * @typedef {import("./protocol.js").PongFrame} PongFrame
 * @typedef {import("./protocol.js").WaitingFrame} WaitingFrame
 * @typedef {Exclude<ServerFrame, WelcomeFrame | IceServersFrame | PongFrame | WaitingFrame> | SfuFrame} RoomFrame
 *   every server frame but welcome, ice-servers, pong and waiting
 * @typedef {{ rtt_ms: number } | { error: string }} RoundTrip  a ping's answer
 *
 * @typedef {object} SignalingHandlers
 * @property {(resume: string | null) => JoinFrame} joinMessage  our join frame, with the
 *   resume token of the peer we were (null on the first join)
 * @property {(welcome: WelcomeFrame) => void} onWelcome  after every welcome: the first,
 *   a resume (`resumed`), or a new peer once the server's grace window had passed
 * @property {(waiting: WaitingFrame) => void} [onWaiting]  the room is locked: we wait in
 *   its lobby until a host lets us in (a welcome follows) or not (a CLOSE_DENIED close);
 *   again after a drop, when the resume brought us back there
 * @property {(frame: RoomFrame) => void} onFrame  every other server frame
 * @property {(ice: Partial<RTCConfiguration>) => void} [onIce]  the ICE servers (and, from
 *   a welcome, which candidates to use) for our peer connections: from every welcome,
 *   just before onWelcome, and from every renewal of the TURN credentials
 * @property {(status: "connecting" | "reconnecting" | "error", reason: string) => void} onStatus
 *   "error": never joined yet and the server cannot be reached; retrying goes on
 * @property {(reason: string) => void} onFatal  the session stopped and will not come back
 *   by itself: replaced, closed by the server for good, or the join was refused for good
 *
 * @typedef {object} SignalingTestHook  see SignalingSession.testHook
 * @property {(code?: number) => void} drop
 * @property {number} sockets
 * @property {number} readyState
 */

/**
 * One signaling session. It reconnects by itself and rejoins with its resume token, so the
 * server keeps our peer id and the peer connections live on. The reconnect policy is the
 * protocol's (docs/protocol.md), the same as the Python client's:
 * - after any close but FINAL_CLOSE_CODES it retries, RECONNECT_FIRST_DELAY_MS first,
 *   doubling up to RECONNECT_MAX_DELAY_MS, back to the first delay after a welcome;
 * - it never gives up because of time: a welcome that did not resume us goes on as a new
 *   peer, and the frames held for the old one are dropped, but for our own `state`;
 * - it stops, saying why, on a FINAL_CLOSE_CODES close and on a join refused with one of
 *   FATAL_JOIN_ERRORS; other refusals are retried like a drop. (A browser cannot see why a
 *   handshake failed, so an unreachable server is retried with a hint.)
 */
export class SignalingSession {
  /** @type {SignalingHandlers} */ #handlers;
  #url = "";
  #shownUrl = "";
  #hint = "";
  /** @type {WebSocket | null} */ #socket = null;
  /** @type {WebSocket | null} the latest socket, also once closed (for the test hook) */
  #lastSocket = null;
  #sockets = 0;
  /** @type {string | null} */ #resumeToken = null;
  #joined = false;
  #everJoined = false;
  /** in the lobby of a locked room on this socket (a welcome ends it) */
  #waiting = false;
  #everWaited = false;
  #closed = false;
  #attempt = 0;
  /** @type {{ type: string, text: string }[]} frames held until we are joined */
  #queue = [];
  /** @type {ReturnType<typeof setTimeout> | undefined} */ #retryTimer;
  /** @type {Map<string, (answer: RoundTrip) => void>} pings waiting for their pong */
  #pings = new Map();
  #pingCount = 0;

  /**
   * @param {Target} target  from signalingTarget
   * @param {SignalingHandlers} handlers
   */
  constructor(target, handlers) {
    this.#url = target.url;
    this.#shownUrl = target.shown;
    this.#hint = target.hint;
    this.#handlers = handlers;
    if (!TEST_HOOKS) return;
    const session = this;
    /**
     * The test hook of the signaling session, only on a page that opted in (test-hooks.js);
     * the widget never uses it:
     * - `drop(code = CLOSE_DROPPED)` closes the current socket the way a network failure
     *   would: CLOSE_DROPPED is not a goodbye, so the session resumes. (Browsers let a page
     *   close with 1000 or 3000–4999 only.)
     * - `sockets`: how many sockets the session has opened; a reconnect opens one more.
     * - `readyState`: the WebSocket readyState of the latest socket (3, CLOSED, once the
     *   session has closed it).
     * @type {Readonly<SignalingTestHook> | undefined}
     */
    this.testHook = Object.freeze({
      drop: (code = CLOSE_DROPPED) => session.#socket?.close(code, "dropped by a test"),
      get sockets() {
        return session.#sockets;
      },
      get readyState() {
        return session.#lastSocket?.readyState ?? WebSocket.CLOSED;
      },
    });
  }

  connect() {
    if (this.#closed) return;
    clearTimeout(this.#retryTimer);
    if (this.#attempt === 0 && !this.#everJoined) this.#handlers.onStatus("connecting", "");
    const socket = new WebSocket(this.#url);
    this.#socket = socket;
    this.#lastSocket = socket;
    this.#sockets += 1;
    this.#joined = false;
    this.#waiting = false;
    let opened = false;
    /** why the server refused our join on this socket, "" unless it did */
    let refused = "";
    socket.onopen = () => {
      opened = true;
      socket.send(JSON.stringify(this.#handlers.joinMessage(this.#resumeToken)));
    };
    socket.onmessage = (event) => {
      if (socket !== this.#socket) return;
      const frame = parseFrame(event.data);
      if (!frame) return;
      if (frame.type === SERVER.WELCOME) this.#welcome(frame);
      else if (frame.type === SERVER.WAITING) this.#wait(frame);
      else if (frame.type === SERVER.PONG) this.#pings.get(frame.id)?.({ rtt_ms: 0 });
      else if (frame.type === SERVER.ICE_SERVERS) {
        this.#handlers.onIce?.({ iceServers: frame.ice_servers });
      }
      // Nothing but our join is sent before the welcome (or the lobby's waiting): an
      // error now refuses it.
      else if (frame.type === SERVER.ERROR && !this.#joined && !this.#waiting) {
        refused = this.#refused(frame);
      }
      else this.#handlers.onFrame(frame);
    };
    socket.onclose = (event) => {
      if (socket !== this.#socket) return;
      this.#endPings("the connection closed before the answer came");
      this.#socket = null;
      this.#joined = false;
      this.#waiting = false;
      if (this.#closed) return;
      if (FINAL_CLOSE_CODES.has(event.code)) {
        this.#stop(finalCloseReason(event));
        return;
      }
      const why =
        refused ||
        (opened
          ? `The connection to the signaling server was lost (code ${event.code})`
          : `Cannot reach the signaling server at ${this.#shownUrl} (${this.#hint})`);
      this.#scheduleRetry(why);
    };
  }

  /**
   * The room is locked: we wait in its lobby on this healthy socket, as the peer this
   * token resumes. Frames of ours wait too, and go only after a resumed welcome.
   * @param {WaitingFrame} frame
   */
  #wait(frame) {
    this.#waiting = true;
    this.#everWaited = true;
    this.#attempt = 0;
    if (frame.resume) this.#resumeToken = frame.resume;
    this.#handlers.onWaiting?.(frame);
  }

  /** @param {WelcomeFrame} welcome */
  #welcome(welcome) {
    this.#waiting = false;
    this.#joined = true;
    this.#everJoined = true;
    this.#attempt = 0;
    this.#resumeToken = welcome.resume;
    // A new peer (the first welcome, or one that did not resume us): signals and SFU
    // frames were for links that no longer exist and would only earn errors, but our own
    // state still holds. It may be newer than the join: the camera comes up while the
    // join is on its way, and the room would otherwise keep it off.
    const queued = welcome.resumed
      ? this.#queue
      : this.#queue.filter((held) => held.type === CLIENT.STATE);
    this.#queue = [];
    this.#handlers.onIce?.({
      iceServers: welcome.ice_servers,
      iceTransportPolicy: welcome.ice_transport_policy,
    });
    this.#handlers.onWelcome(welcome);
    for (const held of queued) this.#socket?.send(held.text);
  }

  /**
   * The server refused our join: stop when trying again cannot help, else drop this
   * socket and retry like after a network failure (e.g. its room store is down).
   * @param {ErrorFrame} frame
   * @returns {string} why, for the retry's status line
   */
  #refused(frame) {
    const reason = describeJoinRefusal(frame);
    console.warn("nbconference: join refused.", reason);
    if (FATAL_JOIN_ERRORS.has(frame.code)) {
      this.#stop(reason);
      return "";
    }
    this.#socket?.close(CLOSE_DROPPED, "join refused");
    return reason;
  }

  /** @param {string} reason */
  #scheduleRetry(reason) {
    const delay = Math.min(
      RECONNECT_MAX_DELAY_MS,
      RECONNECT_FIRST_DELAY_MS * 2 ** this.#attempt,
    );
    this.#attempt += 1;
    const seconds = (delay / 1000).toFixed(1).replace(/\.0$/, "");
    this.#handlers.onStatus(
      this.#everJoined || this.#everWaited ? "reconnecting" : "error",
      `${reason}; retrying in ${seconds} s.`,
    );
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** Close for good and say why. @param {string} reason */
  #stop(reason) {
    this.close();
    this.#handlers.onFatal(reason);
  }

  /**
   * The signaling round trip: a `ping` on the open socket, timed to its `pong`.
   * @param {number} [timeoutMs]
   * @returns {Promise<RoundTrip>}
   */
  ping(timeoutMs = 5000) {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      return Promise.resolve({ error: "not connected to the signaling server" });
    }
    this.#pingCount += 1;
    const id = `p${this.#pingCount}`;
    const started = performance.now();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pings.delete(id);
        resolve({ error: `no answer within ${timeoutMs / 1000} s` });
      }, timeoutMs);
      this.#pings.set(id, (answer) => {
        clearTimeout(timer);
        this.#pings.delete(id);
        const ms = Math.round((performance.now() - started) * 100) / 100;
        resolve("error" in answer ? answer : { rtt_ms: ms });
      });
      socket.send(JSON.stringify(pingMessage(id)));
    });
  }

  /** @param {string} why */
  #endPings(why) {
    for (const answer of [...this.#pings.values()]) answer({ error: why });
  }

  /** Try now instead of waiting for the backoff (the user asked). */
  retryNow() {
    if (this.#closed || this.#socket) return;
    this.connect();
  }

  /**
   * Send now when joined, else hold the frame until we are back (bounded).
   * @param {ClientFrame | { type: string }} msg  a frame of ours, or an SFU frame
   */
  send(msg) {
    const frame = JSON.stringify(msg);
    if (this.#joined && this.#socket?.readyState === WebSocket.OPEN) {
      this.#socket.send(frame);
      return;
    }
    if (this.#closed) return;
    if (this.#queue.length >= MAX_QUEUED) this.#queue.shift();
    this.#queue.push({ type: msg.type, text: frame });
  }

  /** Say goodbye and close for good. */
  leave() {
    if (this.#socket?.readyState === WebSocket.OPEN && this.#joined) {
      this.#socket.send(JSON.stringify(leaveMessage()));
    }
    this.close();
  }

  /** Close for good; a clean close code also tells the server we left. */
  close() {
    this.#closed = true;
    this.#endPings("the call ended before the answer came");
    clearTimeout(this.#retryTimer);
    this.#queue = [];
    const socket = this.#socket;
    this.#socket = null;
    this.#joined = false;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(CLOSE_LEFT, "left");
  }
}

/**
 * One text frame from the server, checked; null (and a warning) when it is unusable.
 * @param {unknown} data
 * @returns {ServerFrame | SfuFrame | null}
 */
function parseFrame(data) {
  /** @type {unknown} */
  let value;
  try {
    value = JSON.parse(String(data));
  } catch {
    console.warn("nbconference: ignoring a frame that is not JSON", data);
    return null;
  }
  const frame = readServerFrame(value) ?? readSfuFrame(value);
  if (!frame) console.warn("nbconference: ignoring a frame it cannot read", value);
  return frame;
}

/** Why a FINAL_CLOSE_CODES close ended the session, for the person in the call. */
function finalCloseReason(/** @type {CloseEvent} */ event) {
  if (event.code === CLOSE_REPLACED) {
    return "This call continued on another connection (replaced).";
  }
  // A host's doing: the server says who, and for how long, in words for the person.
  if (event.code === CLOSE_REMOVED) return `${event.reason || "A host removed you from the call"}.`;
  if (event.code === CLOSE_ENDED) return `${event.reason || "A host ended the call for everyone"}.`;
  if (event.code === CLOSE_DENIED) return `${event.reason || "A host did not let you in"}.`;
  const why = event.reason || (event.code === CLOSE_POLICY ? "policy violation" : "");
  return (
    `The signaling server closed the connection for good (code ${event.code}` +
    `${why ? `: ${why}` : ""}); join again to retry.`
  );
}
