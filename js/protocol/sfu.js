// @ts-check
// The SFU frames (src/nbconference/protocol/sfu.py): media through the server's Janus,
// signaled on our own socket. The page never talks to Janus; streams are named by `mid`
// and feeds by our peer ids. docs/protocol.md ("SFU") documents them.

import { isObject } from "./read.js";

/** The `type` of each SFU frame a client sends. */
export const SFU_CLIENT = Object.freeze({
  PUBLISH: "sfu-publish",
  SUBSCRIBE: "sfu-subscribe",
  UPDATE: "sfu-update",
  ANSWER: "sfu-answer",
  TRICKLE: "sfu-trickle",
  UNPUBLISH: "sfu-unpublish",
});

/** The `type` of each SFU frame the server sends. */
export const SFU_SERVER = Object.freeze({
  ANSWER: "sfu-answer",
  OFFER: "sfu-offer",
  FEEDS: "sfu-feeds",
  TRICKLE: "sfu-trickle",
});

/** What a published stream carries. */
export const SFU_KINDS = Object.freeze(/** @type {const} */ (["camera", "screen", "audio"]));
/** The two connections a page holds with the SFU. */
export const SFU_PCS = Object.freeze(/** @type {const} */ (["publisher", "subscriber"]));
export const MAX_SFU_STREAMS = 64;
export const MID_PATTERN = /^[A-Za-z0-9_-]{1,16}$/;
/** Simulcast layers a subscriber may pick per stream: 0 (lowest) to MAX_SUBSTREAM. */
export const MAX_SUBSTREAM = 2;

/**
 * @typedef {typeof SFU_KINDS[number]} SfuKind
 * @typedef {typeof SFU_PCS[number]} SfuPc
 * @typedef {{ mid: string, kind: SfuKind }} SfuStream
 * @typedef {0 | 1 | 2} SfuSubstream
 * @typedef {{ feed: string, mid?: string, substream?: SfuSubstream }} SfuWanted
 *   `mid`: the publisher's (none: every stream of the feed)
 * @typedef {{ feed: string, mid: string, substream: SfuSubstream }} SfuConfigure
 *   `mid`: the subscriber connection's own, as `sfu-offer`'s `streams` name it
 * @typedef {{ mid: string, feed: string, feed_mid: string }} SfuCarried
 *   a stream of the subscriber connection: its `mid` carries `feed_mid` of peer `feed`
 * @typedef {{ peer: string, streams: SfuStream[] }} SfuFeed
 * @typedef {{ candidate: string, sdpMid?: string, sdpMLineIndex?: number }} SfuCandidate
 */

/** @param {string} sdp @param {SfuStream[]} streams */
export function sfuPublishMessage(sdp, streams) {
  return { type: SFU_CLIENT.PUBLISH, jsep: { type: "offer", sdp }, streams };
}

/** @param {SfuWanted[]} streams */
export function sfuSubscribeMessage(streams) {
  return { type: SFU_CLIENT.SUBSCRIBE, streams };
}

/**
 * Change what the subscriber connection receives (a new `sfu-offer` follows), and/or the
 * simulcast layer of streams it receives already (`configure`: no new offer).
 * @param {SfuWanted[]} subscribe @param {SfuWanted[]} unsubscribe
 * @param {SfuConfigure[]} [configure]
 */
export function sfuUpdateMessage(subscribe, unsubscribe, configure = []) {
  /** @type {{ type: string, subscribe: SfuWanted[], unsubscribe: SfuWanted[], configure?: SfuConfigure[] }} */
  const frame = { type: SFU_CLIENT.UPDATE, subscribe, unsubscribe };
  if (configure.length) frame.configure = configure;
  return frame;
}

/** Our answer to the server's `sfu-offer`. @param {string} sdp */
export function sfuAnswerMessage(sdp) {
  return { type: SFU_CLIENT.ANSWER, jsep: { type: "answer", sdp } };
}

/** @param {SfuPc} pc @param {SfuCandidate | null} candidate  null: gathering is complete */
export function sfuTrickleMessage(pc, candidate) {
  return { type: SFU_CLIENT.TRICKLE, pc, candidate };
}

export function sfuUnpublishMessage() {
  return { type: SFU_CLIENT.UNPUBLISH };
}

/**
 * An SFU frame from the server, checked, or null when it is not one.
 * @param {unknown} value
 * @returns {{ type: "sfu-answer", sdp: string }
 *   | { type: "sfu-offer", sdp: string, streams: SfuCarried[] }
 *   | { type: "sfu-feeds", feeds: SfuFeed[] }
 *   | { type: "sfu-trickle", pc: SfuPc, candidate: SfuCandidate | null } | null}
 */
export function readSfuFrame(value) {
  if (!isObject(value)) return null;
  if (value.type === SFU_SERVER.ANSWER || value.type === SFU_SERVER.OFFER) {
    const jsep = value.jsep;
    if (!isObject(jsep) || typeof jsep.sdp !== "string") return null;
    if (value.type === SFU_SERVER.ANSWER) return { type: value.type, sdp: jsep.sdp };
    const listed = Array.isArray(value.streams) ? value.streams : [];
    const streams = listed
      .filter(
        /** @returns {s is SfuCarried} */ (s) =>
          isObject(s) &&
          typeof s.mid === "string" &&
          typeof s.feed === "string" &&
          typeof s.feed_mid === "string",
      )
      .map(({ mid, feed, feed_mid }) => ({ mid, feed, feed_mid }));
    return { type: value.type, sdp: jsep.sdp, streams };
  }
  if (value.type === SFU_SERVER.FEEDS) {
    if (!Array.isArray(value.feeds)) return null;
    /** @type {SfuFeed[]} */
    const feeds = [];
    for (const feed of value.feeds) {
      if (!isObject(feed) || typeof feed.peer !== "string" || !Array.isArray(feed.streams)) continue;
      const streams = feed.streams.filter(
        /** @returns {s is SfuStream} */ (s) =>
          isObject(s) &&
          typeof s.mid === "string" &&
          /** @type {readonly unknown[]} */ (SFU_KINDS).includes(s.kind),
      );
      feeds.push({ peer: feed.peer, streams });
    }
    return { type: value.type, feeds };
  }
  if (value.type === SFU_SERVER.TRICKLE) {
    const pc = value.pc;
    if (pc !== "publisher" && pc !== "subscriber") return null;
    const c = value.candidate;
    if (c !== null && !(isObject(c) && typeof c.candidate === "string")) return null;
    return { type: value.type, pc, candidate: /** @type {SfuCandidate | null} */ (c) };
  }
  return null;
}
