// @ts-check
// Small stroke icons (24×24), drawn for nbconference. "Off" variants add a slash.

const SHAPES = {
  microphone:
    '<rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5.5 11a6.5 6.5 0 0 0 13 0M12 17.5V21"/>',
  camera:
    '<rect x="3" y="6.5" width="12.5" height="11" rx="2"/><path d="M15.5 10.5 21 7.5v9l-5.5-3z"/>',
  screen:
    '<rect x="3" y="4" width="18" height="12.5" rx="2"/><path d="M8.5 20.5h7M12 16.5v4M9.5 10.5 12 8l2.5 2.5M12 8v5"/>',
  leave:
    '<path d="M3.5 14.5c4.7-4.6 12.3-4.6 17 0l-2 2.8-3.6-1.2v-2.6a11 11 0 0 0-5.8 0v2.6l-3.6 1.2z"/>',
  join: '<path d="M5 4.5h3.5l1.5 4-2 1.5a11 11 0 0 0 6 6l1.5-2 4 1.5V19a1.5 1.5 0 0 1-1.5 1.5A15.5 15.5 0 0 1 3.5 6 1.5 1.5 0 0 1 5 4.5z"/>',
  speaker:
    '<path d="M4 9.5h3.5L12 5.5v13l-4.5-4H4z"/><path d="M15.5 9a4.5 4.5 0 0 1 0 6M18 6.5a8 8 0 0 1 0 11"/>',
  // An open hand, raised: four fingers and the thumb (the ✋ emoji is an empty box where
  // no emoji font is installed).
  hand: '<path d="M8 15V6.5a1.5 1.5 0 0 1 3 0V11M11 10.5V4.5a1.5 1.5 0 0 1 3 0V11M14 11V6a1.5 1.5 0 0 1 3 0v5"/><path d="M17 11V8.5a1.5 1.5 0 0 1 3 0V14a7 7 0 0 1-7 7h-1.5a6.5 6.5 0 0 1-5-2.4L3.2 14.5a1.6 1.6 0 0 1 2.5-2L8 15"/>',
  // A padlock, shut and open: the room's lobby (lobby.js).
  locked: '<rect x="5" y="10.5" width="14" height="10" rx="2"/><path d="M8 10.5V7.5a4 4 0 0 1 8 0v3"/>',
  unlocked: '<rect x="5" y="10.5" width="14" height="10" rx="2"/><path d="M8 10.5V7.5a4 4 0 0 1 7.7-1.5"/>',
  incoming:
    '<path d="M2.5 12S6 5.5 12 5.5 21.5 12 21.5 12 18 18.5 12 18.5 2.5 12 2.5 12z"/><circle cx="12" cy="12" r="3"/>',
};

const SLASH = '<path d="M4 4 20 20"/>';

/**
 * @param {keyof typeof SHAPES} name
 * @param {boolean} [off]
 */
export function icon(name, off = false) {
  return (
    '<svg class="nbc-icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false" fill="none" ' +
    'stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">' +
    SHAPES[name] +
    (off ? SLASH : "") +
    "</svg>"
  );
}
