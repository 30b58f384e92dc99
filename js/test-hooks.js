// @ts-check
// Browser tests reach into a call through a few hooks that the widget itself never uses
// (SignalingSession.testHook, Conference's read-only getters). They exist only on a page
// that asked for them before the bundle loaded, by setting
// `globalThis.__nbconferenceTest = true` (tests/support/pages.py does, in every browser
// context it makes); on any other page the bundle defines none of them.

/** Whether this page opted in to the test hooks; read once, when the bundle loads. */
export const TEST_HOOKS =
  /** @type {typeof globalThis & { __nbconferenceTest?: unknown }} */ (globalThis)
    .__nbconferenceTest === true;
