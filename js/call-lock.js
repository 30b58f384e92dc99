// @ts-check
// One browser, one participant. A second tab (or a second widget in the same page) that
// shows a call this browser is already in offers "Join here" instead of joining too: two
// open microphones of one person would play their own voice back to them.
//
// A Web Lock per call says who is in it; the browser releases it by itself when a tab
// closes or crashes. "Join here" steals the lock, and the tab it was stolen from learns it
// from its own lock request failing, so no message has to cross between tabs.

/**
 * @typedef {object} CallLockOptions
 * @property {() => void} onTakenAway  another tab or widget took the call over
 * @property {LockManager | undefined} [locks]  the lock manager (a test may pass another)
 */

export class CallLock {
  /**
   * @param {string} call  what identifies the call: the signaling server and the room
   * @param {CallLockOptions} options
   */
  constructor(call, options) {
    this.call = call;
    this.name = `nbconference:${call}`;
    this.onTakenAway = options.onTakenAway;
    this.locks = "locks" in options ? options.locks : globalThis.navigator?.locks;
    /** @type {(() => void) | null} ends the callback that holds the lock */
    this.release = null;
    /** @type {Promise<unknown>} settles once our last request is over: the lock it held
     * is released (a request made before then would find our own lock taken) */
    this.settled = Promise.resolve();
  }

  get held() {
    return this.release !== null;
  }

  /** Hold the call unless this browser is in it elsewhere; true when held. */
  acquire() {
    return this.#request({ ifAvailable: true });
  }

  /** Take the call from wherever else this browser is in it (that one leaves). */
  takeOver() {
    return this.#request({ steal: true });
  }

  /** We left: the call is free for another tab. */
  free() {
    const release = this.release;
    this.release = null;
    release?.();
  }

  /**
   * @param {LockOptions} options
   * @returns {Promise<boolean>}
   */
  #request(options) {
    const locks = this.locks;
    // Without Web Locks (an insecure page, an old browser) there is nothing to share.
    if (!locks) return Promise.resolve(true);
    if (this.held) return Promise.resolve(true);
    // Leave then join again at once (a changed room or name): our own lock is freed
    // but not yet released, and would look like another tab's.
    return this.settled.then(() => this.#requestNow(locks, options));
  }

  /**
   * @param {LockManager} locks
   * @param {LockOptions} options
   * @returns {Promise<boolean>}
   */
  #requestNow(locks, options) {
    if (this.held) return Promise.resolve(true);
    return new Promise((resolve) => {
      /** @type {(() => void) | null} */
      let mine = null;
      this.settled = locks
        .request(this.name, options, (lock) => {
          if (!lock) {
            resolve(false);
            return undefined;
          }
          return new Promise((release) => {
            mine = () => release(undefined);
            this.release = mine;
            resolve(true);
          });
        })
        .catch((error) => {
          // A stolen lock rejects its holder's request: someone pressed "Join here".
          const stolen = mine !== null && this.release === mine;
          if (stolen) {
            this.release = null;
            this.onTakenAway();
          } else if (mine === null) {
            console.warn("nbconference: the call lock is unavailable", error);
            resolve(true);
          }
        });
    });
  }
}
