// @ts-check
// Signing in to the Hub's nbconference service before its socket opens. The service
// knows a browser by a cookie of its own, set at the end of JupyterHub's OAuth flow; a
// WebSocket cannot follow the flow's redirects, so a hidden frame does (same origin as
// this page), and the service's sign-in page posts a message here when it is done.
import { HUB_LOGIN_MESSAGE } from "./protocol.js";

/** How long the flow may take: two redirects through the Hub and back, on a busy Hub. */
export const HUB_LOGIN_TIMEOUT_MS = 20000;

/**
 * Load the sign-in page `path` in a hidden frame; resolves with the Hub user it names,
 * or an error that says what to do. Once signed in, the cookie lasts: later calls are
 * one request.
 * @param {string} path  the service's sign-in page (same origin)
 * @param {number} [timeoutMs]
 * @returns {Promise<{ user: string } | { error: string }>}
 */
export function hubLogin(path, timeoutMs = HUB_LOGIN_TIMEOUT_MS) {
  const frame = document.createElement("iframe");
  frame.hidden = true;
  frame.title = "nbconference sign-in";
  return new Promise((resolve) => {
    /** @param {{ user: string } | { error: string }} result */
    const finish = (result) => {
      clearTimeout(timer);
      window.removeEventListener("message", onMessage);
      frame.remove();
      resolve(result);
    };
    /** @param {MessageEvent} event */
    const onMessage = (event) => {
      if (event.origin !== location.origin || event.source !== frame.contentWindow) return;
      const data = /** @type {{ type?: unknown, user?: unknown }} */ (event.data ?? {});
      if (data.type === HUB_LOGIN_MESSAGE && typeof data.user === "string") {
        finish({ user: data.user });
      }
    };
    const timer = setTimeout(
      () =>
        finish({
          error:
            `Could not sign in to the Hub's nbconference service within ` +
            `${Math.round(timeoutMs / 1000)} s. Open ${location.origin}${path} in a new ` +
            "tab: it says why (the Hub may ask you to allow nbconference, or not let you " +
            "use it). Then run the cell again.",
        }),
      timeoutMs,
    );
    window.addEventListener("message", onMessage);
    frame.src = path;
    document.body.append(frame);
  });
}
