// @ts-check
// Checks for values parsed from JSON a peer sent: nothing read from the wire is trusted
// to have the shape its frame type promises.

/** @param {unknown} value @returns {value is Record<string, unknown>} */
export function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
