// @ts-check
// Who may turn a device on: the person, always; the notebook's code (`w.camera = True`)
// only for a device that code turned off. A device the person turned off is never turned
// on by code: the person is asked instead, and says yes or no.

/** @typedef {"camera" | "microphone"} Device */

export class DeviceConsent {
  /** devices the notebook's code (not the person) turned off: code may turn them on */
  #offByCode = { camera: false, microphone: false };
  /** devices the notebook's code asked to turn on, waiting for the person to agree */
  #requests = { camera: false, microphone: false };

  /**
   * Off from the start is the notebook's choice (the widget's traits), not the person's:
   * code may undo it.
   * @param {{ camera: boolean, microphone: boolean }} initially
   */
  constructor(initially) {
    this.#offByCode = { camera: !initially.camera, microphone: !initially.microphone };
  }

  /** The requests waiting for the person's answer, for the view. */
  requests() {
    return Object.freeze({ ...this.#requests });
  }

  /** The person turned `device` on or off: their choice from now on. @param {Device} device */
  byPerson(device) {
    this.#offByCode[device] = false;
    this.#requests[device] = false;
  }

  /**
   * The notebook's code asks for `device` on or off while it is `wanted` (on) or not.
   * Off is done at once, like a host's mute; on only for a device code turned off.
   * @param {Device} device @param {boolean} on @param {boolean} wanted
   * @returns {boolean | null} the device's new state to apply, or null: nothing to do now
   *   (already so, or the person is asked)
   */
  byCode(device, on, wanted) {
    this.#requests[device] = false;
    if (!on) {
      if (!wanted) return null;
      this.#offByCode[device] = true;
      return false;
    }
    if (wanted) return null;
    if (this.#offByCode[device]) {
      this.#offByCode[device] = false;
      return true;
    }
    this.#requests[device] = true;
    return null;
  }

  /** The person answered the request for `device`. @param {Device} device */
  answered(device) {
    this.#requests[device] = false;
  }

  /** The call ended: no request waits any more. */
  clearRequests() {
    this.#requests = { camera: false, microphone: false };
  }
}
