// @ts-check
// What kind of address an ICE candidate has, in one word, so that the kernel learns how a
// link travels without learning anyone's address: no IP address leaves this page.

/**
 * @typedef {"host" | "mdns" | "private" | "public"} AddressType
 *   host: this machine (loopback); mdns: a `<uuid>.local` name that hides a host address
 *   (browsers give one to pages without camera permission); private: a LAN, link-local,
 *   carrier-grade NAT or IPv6 unique-local address; public: any other
 */

/**
 * @param {string | undefined} text
 * @returns {[number, number, number, number] | null} the octets of a dotted IPv4
 */
function ipv4(text) {
  const parts = (text ?? "").split(".");
  if (parts.length !== 4) return null;
  const octets = parts.map((part) => (/^\d{1,3}$/.test(part) ? Number(part) : NaN));
  if (!octets.every((octet) => octet >= 0 && octet <= 255)) return null;
  const [a = 0, b = 0, c = 0, d = 0] = octets;
  return [a, b, c, d];
}

/** @param {[number, number, number, number]} octets @returns {AddressType} */
function ipv4Type([a, b]) {
  if (a === 127) return "host";
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return "private";
  if (a === 169 && b === 254) return "private"; // link-local
  if (a === 100 && b >= 64 && b <= 127) return "private"; // carrier-grade NAT (RFC 6598)
  return "public";
}

/**
 * The kind of an ICE candidate's address (RTCIceCandidateStats.address), null when there
 * is none to judge.
 * @param {string | null | undefined} address
 * @returns {AddressType | null}
 */
export function addressType(address) {
  const text = (address ?? "").trim().toLowerCase().replace(/^\[|\]$/g, "");
  if (!text) return null;
  if (text.endsWith(".local")) return "mdns";
  if (text === "localhost") return "host";
  const v4 = ipv4(text);
  if (v4) return ipv4Type(v4);
  if (!text.includes(":")) return null; // a name we cannot place
  const mapped = text.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/);
  const inner = mapped ? ipv4(mapped[1]) : null;
  if (inner) return ipv4Type(inner);
  if (text === "::1") return "host";
  // fc00::/7 unique-local, fe80::/10 link-local.
  if (/^f[cd][0-9a-f]{0,2}:/.test(text) || /^fe[89ab][0-9a-f]?:/.test(text)) return "private";
  return "public";
}
