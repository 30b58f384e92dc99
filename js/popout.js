// @ts-check
// The call in a window of its own: Document Picture-in-Picture, where the browser offers
// it, keeps the call on top while the person works in the notebook. The view's element
// moves into that window and comes back when it closes.

/**
 * The part of the Document Picture-in-Picture API we use (not yet in TypeScript's DOM).
 * @typedef {{ requestWindow(options?: { width?: number, height?: number }): Promise<Window> }} PictureInPicture
 */

/** @returns {PictureInPicture | null} */
function pictureInPicture() {
  const api = /** @type {{ documentPictureInPicture?: PictureInPicture }} */ (globalThis)
    .documentPictureInPicture;
  return api ?? null;
}

/** Whether this browser can pop the call out. */
export function canPopOut() {
  return pictureInPicture() !== null;
}

/**
 * Style the new window as the page is styled (the widget's CSS uses the page's variables).
 * @param {Document} from @param {Document} to
 */
function copyStyles(from, to) {
  for (const node of from.querySelectorAll('style, link[rel="stylesheet"]')) {
    to.head.append(node.cloneNode(true));
  }
  to.documentElement.className = from.documentElement.className;
  to.body.className = from.body.className;
  for (const attribute of from.body.getAttributeNames()) {
    if (attribute.startsWith("data-jp-")) {
      to.body.setAttribute(attribute, from.body.getAttribute(attribute) ?? "");
    }
  }
}

/** Moving a <video> to another document pauses it: play again where it landed. @param {Element} el */
function replay(el) {
  for (const video of el.querySelectorAll("video")) {
    if (video.srcObject) video.play().catch(() => {});
  }
}

/**
 * Move `root` into a picture-in-picture window, leaving `placeholder` in its place.
 * Resolves to a function that closes the window; `onReturn` runs once the root is back
 * (the window was closed by that function, by the person, or by the browser).
 * @param {HTMLElement} root
 * @param {HTMLElement} placeholder
 * @param {() => void} onReturn
 * @returns {Promise<() => void>}
 */
export async function popOut(root, placeholder, onReturn) {
  const api = pictureInPicture();
  if (!api) throw new Error("This browser cannot pop the call out.");
  const width = Math.max(320, Math.round(root.clientWidth || 640));
  const height = Math.max(240, Math.round(root.clientHeight || 480));
  const popup = await api.requestWindow({ width, height });
  copyStyles(document, popup.document);
  root.replaceWith(placeholder);
  popup.document.body.append(root);
  replay(root);
  let back = false;
  const bringBack = () => {
    if (back) return;
    back = true;
    if (placeholder.isConnected) placeholder.replaceWith(root);
    replay(root);
    onReturn();
  };
  popup.addEventListener("pagehide", bringBack, { once: true });
  return () => {
    bringBack();
    popup.close();
  };
}
