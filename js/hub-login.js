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
 * one request. When the flow stops on a page of the Hub's instead (it refuses, or asks
 * the user something), that is said at once, with the Hub's own words where it gave some.
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
    // Redirects fire no load: a load is the page the flow ended on. On the service's
    // own page its message says how it went (or the time limit does); any other page is
    // the Hub's, which stopped the flow. Its refusals and questions (the authorize page)
    // do not let themselves be framed: the frame then shows an error page of the
    // browser's, which this page cannot read.
    const onLoad = () => {
      let page = null;
      try {
        page = frame.contentDocument;
      } catch {
        page = null;
      }
      if (page?.location.href === "about:blank") return;
      if (page?.location.pathname === new URL(path, location.href).pathname) return;
      finish({ error: hubStopped(page, path) });
    };
    window.addEventListener("message", onMessage);
    frame.addEventListener("load", onLoad);
    frame.src = path;
    document.body.append(frame);
  });
}

/**
 * What to tell the user when the sign-in flow ended on a page of the Hub's rather than
 * the service's: the Hub's reason where that page gives one this page can read (its error
 * pages do, when they may be framed), and the page to open to see it all.
 * @param {Document | null} page  the page the frame shows, null when it cannot be read
 * @param {string} path  the service's sign-in page
 */
function hubStopped(page, path) {
  const reason = [...(page?.querySelectorAll(".error h1, .error p") ?? [])]
    .map((element) => (element.textContent ?? "").replace(/\s+/g, " ").trim())
    .filter(Boolean)
    .join(": ")
    .slice(0, 300);
  const said = reason
    ? `: "${reason}"`
    : page
      ? ` (it stopped at ${page.location.pathname})`
      : ": it does not let you use nbconference, or asks you something first";
  return (
    `The Hub did not sign you in to its nbconference service${said}. Open ` +
    `${location.origin}${path} in a new tab to see why; run the cell again once the Hub ` +
    "lets you use nbconference."
  );
}
