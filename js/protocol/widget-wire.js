// @ts-check
// The widget's own wire (src/nbconference/protocol/widget_wire.py): the comm messages
// between this browser (bridge.js) and the kernel's ConferenceWidget (widget.py), the
// record a browser reports of itself (snapshot.js viewerRecordOf, read by viewers.py),
// and where the kernel tells the browsers to join. The contract test compares the two
// languages, and the records the code here really makes against the field lists.

/** What a browser tells the kernel: the `type` of its messages (widget.py reads them). */
export const TO_KERNEL = Object.freeze({
  HELLO: "hello",
  VIEWER: "viewer",
  STATS: "stats",
  GONE: "viewer-gone",
  VIEWER_LEFT: "viewer-left",
  CHAT: "chat",
  DIAGNOSIS: "diagnosis",
});

/** What the kernel asks of every browser: the `command` of its messages. */
export const FROM_KERNEL = Object.freeze({
  LEAVE: "leave",
  JOIN: "join",
  CAMERA: "camera",
  MICROPHONE: "microphone",
  SIGNALING: "signaling",
  RECEIVE_VIDEO: "receive-video",
  DIAGNOSE: "diagnose",
  // A camera by label or id (`device`), under the same consent as CAMERA.
  CAMERA_DEVICE: "camera-device",
  // Done by one browser only: the one whose viewer key the kernel names in `via`.
  CHAT: "chat",
  LOWER_HAND: "lower-hand",
});

/**
 * The `mode` of a `signaling` command: where to join. pending: the kernel is still
 * finding out (the page's server for now); server: the page's Jupyter server; local: this
 * user's local server (`url` with `token`); unknown: the kernel cannot tell (the page's
 * server); given: the widget's `signaling_url`.
 */
export const SIGNALING_MODE = Object.freeze({
  PENDING: "pending",
  SERVER: "server",
  LOCAL: "local",
  UNKNOWN: "unknown",
  GIVEN: "given",
  HUB: "hub",
});

/** @typedef {typeof SIGNALING_MODE[keyof typeof SIGNALING_MODE]} SignalingMode */

/** Every signaling mode, in the order of SIGNALING_MODE. */
export const SIGNALING_MODES = Object.freeze(
  /** @type {SignalingMode[]} */ (Object.values(SIGNALING_MODE)),
);

/**
 * The modes in which the kernel has decided where to join (the others let an
 * unreachable page server mean only that the kernel's word is on the way).
 * @type {ReadonlySet<unknown>}
 */
export const DECIDED_SIGNALING_MODES = new Set([
  SIGNALING_MODE.SERVER,
  SIGNALING_MODE.LOCAL,
  SIGNALING_MODE.GIVEN,
  SIGNALING_MODE.HUB,
]);

/** A person as a browser reports one: itself, or a peer it is linked to. */
export const PERSON_FIELDS = Object.freeze([
  "id",
  "name",
  "username",
  "initials",
  "color",
  "avatar_url",
  "verified",
  "groups",
  "camera",
  "microphone",
  "screen",
  "hand",
  "host", // the server made them a host of the room (docs/protocol.md "Hosts")
]);

/** What a browser says of itself in a `viewer` message (`record`), field for field. */
export const VIEWER_REPORT_FIELDS = Object.freeze([
  ...PERSON_FIELDS,
  "wanted_camera",
  "wanted_microphone",
  "receive_video",
  "status",
  "error",
  "media_error",
  "peers",
  "recorders",
  "timeline",
  "media", // the plane of its call: "mesh", "sfu", or "" before it joins
  "devices",
  "lobby", // a host's page: { locked, waiting } as the server shows it; null for others
  "breakout", // { groups, group, ends_at } while a breakout of its room runs; null otherwise
]);

/**
 * The steps of a join, in their expected order: a viewer report's `timeline` gives the
 * epoch ms of each step reached (timeline.js). The camera is not on the path: the page
 * joins receive-only and sends its tracks once they are up, so `media` may come anywhere
 * after `rendered`.
 */
export const JOIN_PHASES = Object.freeze(
  /** @type {const} */ ([
    "cell", // the kernel ran the cell: the widget's creation time in the kernel
    "rendered", // the first view of the widget is on screen
    "target", // the signaling server is known (the call lock is ours)
    "media", // the camera and microphone are up (or said why not)
    "welcome", // the server let us in
    "offer", // the first offer sent or received
    "ice", // the first link's ICE connected
    "frame", // the first remote video frame decoded
  ]),
);

/** One entry of its `peers`: a peer it is linked to (mesh.js peerTraits). */
export const ROSTER_ENTRY_FIELDS = Object.freeze([
  ...PERSON_FIELDS,
  "connection",
  "problem",
  "widget",
]);

/** One entry of its `recorders`. */
export const RECORDER_ENTRY_FIELDS = Object.freeze(["id", "name"]);

/** What a browser's `diagnosis` message says (`report`, diagnosis.js), field for field. */
export const DIAGNOSIS_FIELDS = Object.freeze([
  "finished_at",
  "secure_context",
  "permissions",
  "devices",
  "signaling",
  "turn",
  "links",
  "advice",
]);
