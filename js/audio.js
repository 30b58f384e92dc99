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
      sink.dataset.peerId = peerId;
      this.sinks.set(peerId, sink);
    }
    sink.srcObject = new MediaStream([track]);
    this.play(sink);
  }

  /** @param {HTMLAudioElement} sink */
  play(sink) {
    sink.play().then(
      () => this.setBlocked(false),
      (error) => {
        // NotAllowedError: the page has had no click yet. AbortError: replaced meanwhile.
        if (error?.name === "NotAllowedError") this.setBlocked(true);
      },
    );
  }

  /** Called from a click on "enable audio": a user gesture lets playback start. */
  resume() {
    for (const sink of this.sinks.values()) this.play(sink);
    if (this.sinks.size === 0) this.setBlocked(false);
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
    this.setBlocked(false);
  }
}
