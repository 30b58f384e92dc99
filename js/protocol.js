// @ts-check
// Signaling protocol v1: the shared contract, mirrored from src/nbconference/protocol/.
// Every frame type, error code, close code, reconnect delay and the endpoint path is
// written in js/protocol/ and nowhere else in js/; client frames are built only by the
// builders. This index re-exports the modules, one job each:
//
// - names.js: version, endpoint, frame types, kinds, state keys, patterns, close codes,
//   the reconnect policy, and the shapes frames share (PeerState, PeerInfo, ...);
// - errors.js: the error codes (ERROR, the ErrorCode union) and what they mean;
// - client-frames.js: the frames a client sends, and their builders;
// - server-frames.js: the frames the server sends, read and checked;
// - chat.js: chat and raised hands;
// - hosts.js: who runs the room, and what only they may do;
// - lobby.js: the lobby of a locked room (who waits, and letting them in);
// - breakout.js: breakout rooms (groups of a room for a while);
// - view-channel.js: what a receiver shows, between peers;
// - widget-wire.js: the widget's comm messages, viewer reports and signaling modes;
// - sfu.js: media through the server's SFU (Janus), signaled on our socket;
// - read.js: checks for values parsed from JSON.

export * from "./protocol/names.js";
export * from "./protocol/errors.js";
export * from "./protocol/client-frames.js";
export * from "./protocol/server-frames.js";
export * from "./protocol/chat.js";
export * from "./protocol/hosts.js";
export * from "./protocol/lobby.js";
export * from "./protocol/breakout.js";
export * from "./protocol/view-channel.js";
export * from "./protocol/widget-wire.js";
export * from "./protocol/sfu.js";
