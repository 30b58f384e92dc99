// @ts-check
// What a call looks like from outside: the snapshot a Conference hands its views, and
// the record the kernel hears of this browser's part in it.
import { peerTraits } from "./mesh.js";

/**
 * @typedef {"idle" | "connecting" | "waiting" | "joined" | "reconnecting" | "left" | "error"} Status
 *   idle: not in the call and not trying: no view has shown the widget yet, its views
 *   are gone, or this browser is in the call elsewhere (another tab or widget); waiting:
 *   in the lobby of a locked room, until a host lets us in (lobby.js)
 * @typedef {import("./quality.js").Grade} Grade
 * @typedef {import("./mesh.js").PeerRecord} PeerRecord
 * @typedef {import("./people.js").Person} Person
 *
 * @typedef {object} LocalState  ourselves, as our own tile shows us
 * @property {string} id  our peer id, "" until joined
 * @property {boolean} camera  sending video: wanted, and a camera is there
 * @property {boolean} microphone  sending sound
 * @property {boolean} screen  sharing a screen
 * @property {number} hand  when our hand went up (ms, the server's stamp), 0 when down
 * @property {boolean} host  we are a host of the room (the server says so)
 * @property {MediaStream | null} preview  our camera alone (never our own voice), while on
 *
 * @typedef {Person & LocalState} LocalRecord
 *
 * @typedef {object} ConferenceSnapshot  what a view shows, frozen; the streams in it are
 *   the live MediaStreams (references for <video> elements, not copies)
 * @property {string} instanceId  the widget's id, the key of the page's registry
 * @property {string} room
 * @property {string} label  the call as people know it ("the call of analysis.ipynb"),
 *   "" to say "room <room>"
 * @property {Status} status
 * @property {boolean} elsewhere  this browser is in the call in another tab or widget
 * @property {Readonly<{ camera: boolean, microphone: boolean }>} requests  devices the
 *   notebook's code asks to turn on, waiting for the person's yes
 * @property {string} detail  why we are connecting or reconnecting
 * @property {string} error  why the call stopped (status "error")
 * @property {string} notice  a passing problem, shown for a few seconds
 * @property {string} mediaError  why we are (partly) receive-only, "" when we are not
 * @property {boolean} inCall  in a call or getting into one: media is (being) held
 * @property {boolean} hubSignaling  joined through the Hub's nbconference service
 * @property {boolean} localSignaling  joined through this user's local signaling server,
 *   which stands in for a Jupyter server that started before nbconference was installed
 * @property {Readonly<{ camera: boolean, microphone: boolean }>} wanted  what the user
 *   asked for (buttons, traits), even while the device is missing
 * @property {Readonly<LocalRecord>} local
 * @property {readonly Readonly<PeerRecord>[]} peers  Mesh.roster(): one record per peer
 *   (recorders aside)
 * @property {readonly Readonly<import("./recording-banner.js").Recorder>[]} recorders
 *   the recorders in the room (kind "recorder"): the banner shows them, no tile does
 * @property {string} speaker  peer id of the tile to ring (ours too), "" for nobody
 * @property {boolean} receiveVideo  false: "video off for me", the others send us none
 * @property {ReadonlyMap<string, Grade>} grades  each link's quality, by peer id
 * @property {boolean} audioBlocked  the browser plays no sound until a click
 * @property {import("./chat.js").ChatSnapshot} chat  the room's chat, each message once
 * @property {string} handNote  who lowered whose hand, for a few seconds; "" otherwise
 * @property {string} hostMute  a host muted us: who, and that only we can undo it ("" when
 *   no host's mute holds)
 * @property {Readonly<import("./lobby.js").LobbySnapshot> | null} lobby  the lobby of a
 *   locked room: who waits, on a page that may act as a host; null on any other page
 * @property {Readonly<import("./breakout.js").BreakoutSnapshot> | null} breakout  a
 *   breakout of our room while one runs (our group, "" in the main room); null otherwise
 * @property {Readonly<import("./timeline.js").TimelineRecord>} timeline  when each step of
 *   the latest join happened (epoch ms), for "why was joining slow?"
 * @property {"mesh" | "sfu" | ""} media  the plane that carries our media: peer to peer,
 *   or through the server's SFU; "" until we have joined
 * @property {boolean} sfuAway  our media goes through the server's SFU, and it does not
 *   answer (its Janus is down): nothing gets through until it does; we keep trying
 * @property {Readonly<import("./prejoin.js").PrejoinSnapshot> | null} prejoin  the
 *   pre-join panel, while it waits for the person's click
 * @property {Readonly<import("./prejoin.js").DeviceMenus & { report: import("./devices.js").DeviceReport }>} devices
 *   what the device menus list, what is in use, and what the kernel hears of it
 * @property {import("./devices.js").DeviceEntry | null} deviceRequest  a camera the
 *   notebook's code asks to switch to, waiting for the person's yes
 * @property {Readonly<{ running: boolean, report: import("./diagnosis.js").Diagnosis | null }>} diagnosis
 *   the connection check: one under way, and the last one finished (the ⓘ panel)
 *
 * @typedef {ReturnType<typeof viewerRecordOf>} ViewerRecord
 */

/**
 * What the kernel hears of this browser: its own record (the shape of a peer's) and the
 * peers it is linked to. The kernel merges the records of every browser viewing the
 * widget into its traits.
 * @param {ConferenceSnapshot} snapshot
 */
export function viewerRecordOf(snapshot) {
  const { local } = snapshot;
  return {
    id: local.id,
    name: local.name,
    username: local.username,
    initials: local.initials,
    color: local.color,
    avatar_url: local.avatar_url,
    verified: local.verified,
    groups: local.groups,
    camera: local.camera,
    microphone: local.microphone,
    screen: local.screen,
    hand: local.hand,
    host: local.host,
    wanted_camera: snapshot.wanted.camera,
    wanted_microphone: snapshot.wanted.microphone,
    receive_video: snapshot.receiveVideo,
    status: snapshot.status,
    error: snapshot.error || snapshot.notice,
    media_error: snapshot.mediaError,
    peers: snapshot.peers.map(peerTraits),
    // The recorders in the room: the kernel's `recording` trait.
    recorders: snapshot.recorders.map(({ id, name }) => ({ id, name })),
    // When each step of joining happened: the kernel's `timeline`.
    timeline: snapshot.timeline,
    // The plane that carries our media: the kernel's `media` ("" before we joined).
    media: snapshot.media,
    // The devices in use and how many of each kind: `w.devices` (never the full lists).
    devices: snapshot.devices.report,
    // Who waits to be let in, where we may act as a host: `w.lobby` and `w.locked`.
    lobby: snapshot.lobby && { locked: snapshot.lobby.locked, waiting: snapshot.lobby.waiting },
    // A breakout of our room: `w.breakouts` (ends_at on this page's clock, epoch ms).
    breakout: snapshot.breakout && {
      groups: snapshot.breakout.groups,
      group: snapshot.breakout.group,
      ends_at: snapshot.breakout.endsAt,
    },
  };
}
