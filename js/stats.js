// @ts-check
// getStats() of one peer connection reduced to one flat record per remote peer, with
// what we send that peer and why not more (budget.js).
import { addressType } from "./addresses.js";
import { sendLimit } from "./budget.js";

/**
 * @typedef {object} PeerStats
 * @property {number | null} rtt_ms  round trip on the selected candidate pair
 * @property {number | null} jitter_ms  worst inbound jitter (audio or video)
 * @property {number} packets_lost  inbound, all streams, since the connection started
 * @property {number | null} loss_pct  inbound packets lost over the last interval, percent
 * @property {number | null} bitrate_in_kbps
 * @property {number | null} bitrate_out_kbps
 * @property {number | null} fps_in  camera frames decoded per second
 * @property {number | null} fps_out  camera frames sent per second
 * @property {number | null} frame_width  of the remote camera as decoded
 * @property {number | null} frame_height
 * @property {number | null} send_width  of our camera as encoded for this peer
 * @property {number | null} send_height
 * @property {string | null} quality_limitation  what the browser says holds our camera's
 *   encoder for this peer back: none | cpu | bandwidth | other
 * @property {boolean | null} [send_active]  we encode our camera for this peer at all
 * @property {number | null} [send_max_height]  the height our budget allows this link
 *   (0: nothing sent), null before there is a plan
 * @property {import("./budget.js").LimitReason | null} [send_limit]  why this link gets
 *   less than our camera captures: receiver | room | screen | cpu | bandwidth; null: it
 *   does not
 * @property {number | null} [requested_height]  how high the peer shows our camera (its
 *   request; 0: not at all), null until it says
 * @property {number | null} audio_level  0..1, the remote microphone as received
 * @property {CandidateType | null} route  how the selected candidate pair reaches the
 *   peer, the less direct of its two ends: host (directly), srflx or prflx (through a
 *   NAT), relay (through a TURN server); null before a pair is selected
 * @property {CandidateType | null} route_local  our end of the pair: its candidate type
 * @property {CandidateType | null} route_remote  the peer's end of the pair
 * @property {string | null} route_protocol  udp | tcp: what our end of the pair speaks
 * @property {string | null} relay_protocol  udp | tcp | tls: how we reach the TURN server
 *   when our end is relayed (the TURN URL's transport), else null
 * @property {import("./addresses.js").AddressType | null} local_address_type  what kind
 *   of address our end of the pair has: host | mdns | private | public (addresses.js);
 *   the address itself never leaves the page
 * @property {import("./addresses.js").AddressType | null} remote_address_type  the peer's end
 * @property {string} connection  RTCPeerConnection.connectionState
 * @property {"direct" | "sfu"} [via]  a link of its own (mesh), or through the SFU
 * @property {0 | 1 | 2 | null} [layer]  the simulcast layer of its camera we ask the SFU
 *   for (0 lowest); null on a mesh link, or when we receive no video of it
 * @property {import("./quality.js").Quality | null} [quality]  good | fair | poor, see meters.js
 *
 * @typedef {object} Counters  cumulative totals of one sample
 * @property {number} timestamp
 * @property {number} bytesIn
 * @property {number} bytesOut
 * @property {number} lost  inbound packets lost
 * @property {number} received  inbound packets received
 */

/**
 * The getStats() entries we read, told apart by `type` (the browser hands them over
 * untyped; every field it may leave out is optional).
 * @typedef {RTCInboundRtpStreamStats & { type: "inbound-rtp" }} InboundEntry
 * @typedef {RTCOutboundRtpStreamStats & { type: "outbound-rtp" }} OutboundEntry
 * @typedef {RTCTransportStats & { type: "transport" }} TransportEntry
 * @typedef {RTCIceCandidatePairStats & { type: "candidate-pair" }} PairEntry
 * @typedef {RTCStats & { type: "local-candidate" | "remote-candidate", candidateType?: RTCIceCandidateType, protocol?: string, relayProtocol?: string, address?: string, ip?: string }} CandidateEntry
 * @typedef {RTCIceCandidateType} CandidateType  host | srflx | prflx | relay
 * @typedef {RTCStats & { type: Exclude<RTCStatsType, StatsEntry["type"]> }} OtherEntry
 * @typedef {InboundEntry | OutboundEntry | TransportEntry | PairEntry | CandidateEntry} StatsEntry
 */

/** @param {number | null | undefined} value @param {number} digits */
function round(value, digits = 1) {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * @param {RTCStatsReport} report
 * @param {Counters | null} previous  counters of the last sample, for the bitrates
 * @param {string | null} cameraMid  mid of the main video m-line, to skip screen shares
 * @param {string} connection
 * @param {ReadonlySet<string> | null} [mids]  the mids that carry this peer (a connection
 *   shared by several, the SFU's); null: all of them
 * @returns {{ record: PeerStats, counters: Counters }}
 */
export function reduceStats(report, previous, cameraMid, connection, mids = null) {
  /** @type {Map<string, StatsEntry | OtherEntry>} */
  const byId = new Map();
  report.forEach((/** @type {StatsEntry | OtherEntry} */ entry) => byId.set(entry.id, entry));
  let bytesIn = 0;
  let bytesOut = 0;
  let packetsLost = 0;
  let packetsReceived = 0;
  /** @type {number | null} */
  let jitter = null;
  /** @type {number | null} */
  let audioLevel = null;
  let timestamp = 0;
  /** @type {InboundEntry | null} */
  let inVideo = null;
  /** @type {OutboundEntry | null} */
  let outVideo = null;
  /** @type {string | null} */
  let pairId = null;
  for (const s of byId.values()) {
    timestamp = Math.max(timestamp, s.timestamp ?? 0);
    const rtp = s.type === "inbound-rtp" || s.type === "outbound-rtp";
    if (rtp && mids && !(s.mid !== undefined && mids.has(s.mid))) continue;
    if (s.type === "inbound-rtp") {
      bytesIn += s.bytesReceived ?? 0;
      packetsLost += Math.max(0, s.packetsLost ?? 0);
      packetsReceived += s.packetsReceived ?? 0;
      if (typeof s.jitter === "number") jitter = Math.max(jitter ?? 0, s.jitter);
      if (s.kind === "audio" && typeof s.audioLevel === "number") audioLevel = s.audioLevel;
      if (s.kind === "video" && (s.mid === cameraMid || (!inVideo && cameraMid === null)))
        inVideo = s;
    } else if (s.type === "outbound-rtp") {
      bytesOut += s.bytesSent ?? 0;
      if (s.kind === "video" && (s.mid === cameraMid || (!outVideo && cameraMid === null)))
        outVideo = s;
    } else if (s.type === "transport" && s.selectedCandidatePairId) {
      pairId = s.selectedCandidatePairId;
    }
  }
  const pairs = [...byId.values()].filter(
    /** @returns {s is PairEntry} */ (s) => s.type === "candidate-pair",
  );
  const pair =
    pairs.find((s) => s.id === pairId) ??
    pairs.find((s) => s.nominated && s.state === "succeeded") ??
    null;
  const counters = { timestamp, bytesIn, bytesOut, lost: packetsLost, received: packetsReceived };
  const elapsedMs = previous ? timestamp - previous.timestamp : 0;
  /** @param {number} now @param {number} before */
  const kbps = (now, before) => (elapsedMs > 0 ? round(((now - before) * 8) / elapsedMs, 1) : null);
  const lost = previous ? packetsLost - previous.lost : 0;
  const expected = previous ? lost + packetsReceived - previous.received : 0;
  const record = {
    rtt_ms: round(pair?.currentRoundTripTime != null ? pair.currentRoundTripTime * 1000 : null),
    jitter_ms: round(jitter === null ? null : jitter * 1000),
    packets_lost: packetsLost,
    loss_pct: expected > 0 ? round((Math.max(0, lost) * 100) / expected, 2) : null,
    bitrate_in_kbps: previous ? kbps(bytesIn, previous.bytesIn) : null,
    bitrate_out_kbps: previous ? kbps(bytesOut, previous.bytesOut) : null,
    fps_in: round(inVideo?.framesPerSecond ?? null),
    fps_out: round(outVideo?.framesPerSecond ?? null),
    frame_width: inVideo?.frameWidth ?? null,
    frame_height: inVideo?.frameHeight ?? null,
    send_width: outVideo?.frameWidth ?? null,
    send_height: outVideo?.frameHeight ?? null,
    quality_limitation: outVideo?.qualityLimitationReason ?? null,
    audio_level: round(audioLevel, 3),
    ...routeOf(pair, byId),
    connection,
  };
  return { record, counters };
}

/** How indirect each kind of candidate is: a route is as indirect as its less direct end. */
const INDIRECTNESS = { host: 0, prflx: 1, srflx: 2, relay: 3 };

/**
 * The route of the selected candidate pair (see PeerStats); every field null without one.
 * @param {PairEntry | null} pair
 * @param {Map<string, StatsEntry | OtherEntry>} byId
 */
function routeOf(pair, byId) {
  /** @param {string | undefined} id @returns {CandidateEntry | null} */
  const candidate = (id) => {
    const entry = id === undefined ? undefined : byId.get(id);
    return entry?.type === "local-candidate" || entry?.type === "remote-candidate" ? entry : null;
  };
  const local = candidate(pair?.localCandidateId);
  const remote = candidate(pair?.remoteCandidateId);
  const localType = local?.candidateType ?? null;
  const remoteType = remote?.candidateType ?? null;
  /** @type {CandidateType | null} */
  let route = localType;
  if (route && remoteType && INDIRECTNESS[remoteType] > INDIRECTNESS[route]) route = remoteType;
  return {
    route,
    route_local: localType,
    route_remote: remoteType,
    route_protocol: local?.protocol ?? null,
    relay_protocol: localType === "relay" ? (local?.relayProtocol ?? null) : null,
    // Older Chromium names the address `ip`.
    local_address_type: addressType(local?.address ?? local?.ip),
    remote_address_type: addressType(remote?.address ?? remote?.ip),
  };
}

/**
 * The route of a link in words, for the quality badge's title ("" before there is one).
 * @param {Pick<PeerStats, "route" | "route_protocol" | "relay_protocol">} record
 */
export function describeRoute(record) {
  const over = record.route_protocol ? ` over ${record.route_protocol.toUpperCase()}` : "";
  switch (record.route) {
    case "relay": {
      const to = record.relay_protocol ? ` (reached over ${record.relay_protocol.toUpperCase()})` : "";
      return `relayed through the TURN server${to}`;
    }
    case "host":
      return `direct${over}`;
    case "srflx":
    case "prflx":
      return `direct through a NAT${over}`;
    default:
      return "";
  }
}

/**
 * What we send a peer, as planned (sending.js), and what it asked for.
 * @param {import("./planes.js").MediaLink} link
 * @param {string | null} measured  the encoder's qualityLimitationReason
 */
function sendingRecord(link, measured) {
  const plan = link.cameraPlan;
  return {
    send_active: plan ? plan.active : null,
    send_max_height: plan ? plan.height : null,
    send_limit: plan ? sendLimit(plan.limit, measured) : null,
    requested_height: link.asked ? link.asked.camera : null,
  };
}

/**
 * Sample every link, then hand the records over at most once per interval.
 * @param {() => Map<string, import("./planes.js").MediaLink>} links
 * @param {() => number} intervalSeconds
 * @param {(stats: Record<string, PeerStats>) => void} publish
 * @returns {() => void} stop
 */
export function startStatsLoop(links, intervalSeconds, publish) {
  /** @type {WeakMap<object, Counters>} */
  const counters = new WeakMap();
  let stopped = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const tick = async () => {
    /** @type {Record<string, PeerStats>} */
    const stats = {};
    await Promise.all(
      [...links()].map(async ([id, link]) => {
        if (link.closed) return;
        try {
          const report = await link.pc.getStats();
          const { record, counters: now } = reduceStats(
            report,
            counters.get(link) ?? null,
            link.cameraMid,
            link.pc.connectionState,
            link.mids,
          );
          counters.set(link, now);
          const sending = sendingRecord(link, record.quality_limitation);
          stats[id] = { ...record, ...sending, via: link.via, layer: link.layer };
        } catch (error) {
          if (!link.closed) console.warn("nbconference: getStats failed", error);
        }
      }),
    );
    if (stopped) return;
    publish(stats);
    // Counted from the publish, so two publishes are never closer than one interval.
    timer = setTimeout(tick, Math.max(0.1, intervalSeconds()) * 1000);
  };
  timer = setTimeout(tick, 0);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
