// @ts-check
// What a call looks like from outside: the snapshot a Conference hands its views, and
// the traits the kernel gets from it.
import { peerTraits } from "./mesh.js";

/**
 * @typedef {"connecting" | "joined" | "reconnecting" | "left" | "error"} Status
 * @typedef {import("./quality.js").Grade} Grade
 * @typedef {import("./mesh.js").PeerRecord} PeerRecord
 *
 * @typedef {object} LocalRecord  ourselves, as our own tile shows us
 * @property {string} id  our peer id, "" until joined
 * @property {string} name
 * @property {boolean} camera  sending video: wanted, and a camera is there
 * @property {boolean} microphone  sending sound
 * @property {boolean} screen  sharing a screen
 * @property {MediaStream | null} preview  our camera alone (never our own voice), while on
 *
 * @typedef {object} ConferenceSnapshot  what a view shows, frozen; the streams in it are
 *   the live MediaStreams (references for <video> elements, not copies)
 * @property {string} instanceId  the widget's id, the key of the page's registry
 * @property {string} room
 * @property {Status} status
 * @property {string} detail  why we are connecting or reconnecting
 * @property {string} error  why the call stopped (status "error")
 * @property {string} notice  a passing problem, shown for a few seconds
 * @property {string} mediaError  why we are (partly) receive-only, "" when we are not
 * @property {boolean} inCall  in a call or getting into one: media is (being) held
 * @property {Readonly<{ camera: boolean, microphone: boolean }>} wanted  what the user
 *   asked for (buttons, traits), even while the device is missing
 * @property {Readonly<LocalRecord>} local
 * @property {readonly Readonly<PeerRecord>[]} peers  Mesh.roster(): one record per peer
 * @property {string} speaker  peer id of the tile to ring (ours too), "" for nobody
 * @property {ReadonlyMap<string, Grade>} grades  each link's quality, by peer id
 * @property {boolean} audioBlocked  the browser plays no sound until a click
 */

/**
 * The browser-written traits the kernel sees (all JSON).
 * @param {ConferenceSnapshot} snapshot
 */
export function traitsOf(snapshot) {
  return {
    peer_id: snapshot.local.id,
    status: snapshot.status,
    error: snapshot.error || snapshot.notice,
    media_error: snapshot.mediaError,
    sharing_screen: snapshot.local.screen,
    camera: snapshot.wanted.camera,
    microphone: snapshot.wanted.microphone,
    peers: snapshot.peers.map(peerTraits),
  };
}
