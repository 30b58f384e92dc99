// @ts-check
// Remote voices play through one <audio> element per peer, owned by the conference rather
// than by a view: the same widget shown in two cells must not play everyone twice.

export class AudioSinks {
  /** @param {(blocked: boolean) => void} onBlockedChange  autoplay was refused or allowed */
  constructor(onBlockedChange) {
    /** @type {Map<string, HTMLAudioElement>} */
    this.sinks = new Map();
    this.blocked = false;
    this.onBlockedChange = onBlockedChange;
    /** the speaker chosen for every voice ("" the default), where setSinkId exists */
    this.sinkId = "";
    /** @type {Set<string>} peers whose voice is not played (they say their microphone is off) */
    this.silenced = new Set();
  }

  /**
   * Play `peerId`'s voice or not: a peer whose microphone is off (by its own word, or a
   * host's mute that the server holds until the person unmutes) is not played, whatever
   * its connection still carries.
   * @param {string} peerId @param {boolean} silent
   */
  silence(peerId, silent) {
    if (silent === this.silenced.has(peerId)) return;
    if (silent) this.silenced.add(peerId);
    else this.silenced.delete(peerId);
    const sink = this.sinks.get(peerId);
    if (!sink) return;
    sink.muted = silent;
    // A muted element plays without a click; unmuted, the browser may want one again.
    if (!silent) this.play(sink);
  }

  /**
   * Play every voice on the speaker `sinkId` ("" the default). Resolves to why it could
   * not, "" on success.
   * @param {string} sinkId
   */
  async setSinkId(sinkId) {
    const proto = globalThis.HTMLMediaElement?.prototype;
    if (!proto || !("setSinkId" in proto)) {
      return "This browser plays sound only on its default speaker.";
    }
    try {
      for (const sink of this.sinks.values()) await sink.setSinkId(sinkId);
    } catch (error) {
      return `Could not use that speaker: ${error instanceof Error ? error.message : error}`;
    }
    this.sinkId = sinkId;
    return "";
  }

  /**
   * Play `track` for `peerId` (or stop playing when null).
   * @param {string} peerId
   * @param {MediaStreamTrack | null} track
   */
  set(peerId, track) {
    let sink = this.sinks.get(peerId);
    if (!track) {
      if (sink) this.remove(peerId);
      return;
    }
    const current = /** @type {MediaStream | null} */ (sink?.srcObject ?? null);
    if (sink && current?.getAudioTracks()[0] === track) return;
    if (!sink) {
      sink = document.createElement("audio");
      sink.autoplay = true;
      sink.muted = this.silenced.has(peerId);
      sink.dataset.peerId = peerId;
      this.sinks.set(peerId, sink);
      if (this.sinkId) {
        sink.setSinkId(this.sinkId).catch((error) => {
          console.warn("nbconference: cannot play on the chosen speaker", error);
        });
      }
    }
    sink.srcObject = new MediaStream([track]);
    this.play(sink);
  }

  /** @param {HTMLAudioElement} sink */
  play(sink) {
    sink.play().then(
      // A muted element proves nothing about the others: it needs no click to play.
      () => sink.muted || this.setBlocked(false),
      (error) => {
        // NotAllowedError: the page has had no click yet. AbortError: replaced meanwhile.
        if (error?.name === "NotAllowedError") this.setBlocked(true);
      },
    );
  }

  /** Called from a click on "enable audio": a user gesture lets playback start. */
  resume() {
    for (const sink of this.sinks.values()) this.play(sink);
    // Nothing audible to start (no voice, or only silenced ones): the click is enough.
    if ([...this.sinks.values()].every((sink) => sink.muted)) this.setBlocked(false);
  }

  /** @param {boolean} blocked */
  setBlocked(blocked) {
    if (this.blocked === blocked) return;
    this.blocked = blocked;
    this.onBlockedChange(blocked);
  }

  /** @param {string} peerId */
  remove(peerId) {
    const sink = this.sinks.get(peerId);
    if (!sink) return;
    this.sinks.delete(peerId);
    sink.pause();
    sink.srcObject = null;
  }

  close() {
    for (const peerId of [...this.sinks.keys()]) this.remove(peerId);
    this.silenced.clear();
    this.setBlocked(false);
  }
}
