/**
 * IPv4 addresses as unsigned 32-bit numbers (host byte order), and their
 * text forms. Inside the stack an address is a number: cheap to compare,
 * hash and mask. Text appears only at edges (configuration, sockaddrs given
 * as objects, tools).
 */

export type InAddr = number;

export const INADDR_ANY: InAddr = 0;
export const INADDR_BROADCAST: InAddr = 0xffffffff;
export const INADDR_LOOPBACK: InAddr = 0x7f000001;

/** Build an address from its four octets. */
export function ip4(a: number, b: number, c: number, d: number): InAddr {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/**
 * Parse dotted-quad text (inet_pton(AF_INET) rules: exactly four decimal
 * octets, no leading zeros beyond "0", each 0..255). Null when malformed.
 */
export function parseIp4(s: string): InAddr | null {
  if (s.length < 7 || s.length > 15) return null;
  let v = 0;
  let octet = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // a final '.'
    if (c === 46) {
      if (digits === 0 || octet > 255) return null;
      v = v * 256 + octet;
      parts++;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return null; // leading zero
      octet = octet * 10 + (c - 48);
      if (++digits > 3) return null;
    } else return null;
  }
  return parts === 4 ? v >>> 0 : null;
}

export function formatIp4(a: InAddr): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** Netmask of a prefix length 0..32. */
export function prefixMask(len: number): InAddr {
  return len <= 0 ? 0 : len >= 32 ? 0xffffffff : (0xffffffff << (32 - len)) >>> 0;
}

/** Prefix length of a contiguous netmask, or -1 when it is not contiguous. */
export function maskLength(mask: InAddr): number {
  const m = mask >>> 0;
  let n = 0;
  while (n < 32 && (m & (0x80000000 >>> n)) !== 0) n++;
  return prefixMask(n) === m ? n : -1;
}

/** Parse "A.B.C.D/N" (N defaults to 32). */
export function parseCidr(s: string): { addr: InAddr; prefix: number } | null {
  const slash = s.indexOf('/');
  const a = parseIp4(slash < 0 ? s : s.slice(0, slash));
  if (a === null) return null;
  if (slash < 0) return { addr: a, prefix: 32 };
  const p = s.slice(slash + 1);
  if (!/^\d{1,2}$/.test(p)) return null;
  const prefix = Number(p);
  return prefix <= 32 ? { addr: a, prefix } : null;
}

/** 224.0.0.0/4 (RFC 5771). */
export function isMulticast(a: InAddr): boolean {
  return a >>> 28 === 0xe;
}

/** 127.0.0.0/8 (RFC 1122 §3.2.1.3 (g)). */
export function isLoopback(a: InAddr): boolean {
  return a >>> 24 === 127;
}

/**
 * node:net's isIP: 4 for a dotted-quad IPv4 address, 6 for an IPv6 address
 * (recognised, not supported by the stack), 0 otherwise.
 */
export function isIP(s: string): 0 | 4 | 6 {
  if (parseIp4(s) !== null) return 4;
  return isIPv6Text(s) ? 6 : 0;
}

/** RFC 4291 §2.2 text forms (hex groups, one "::", optional trailing dotted quad, optional %zone). */
function isIPv6Text(s: string): boolean {
  if (s.length < 2 || s.length > 100) return false;
  const pct = s.indexOf('%');
  const a = pct >= 0 ? s.slice(0, pct) : s;
  if (pct >= 0 && pct === s.length - 1) return false;
  const dbl = a.indexOf('::');
  if (dbl >= 0 && a.indexOf('::', dbl + 1) >= 0) return false;
  const groups = a.split(':');
  let count = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (g === '') continue;
    if (i === groups.length - 1 && g.includes('.')) {
      if (parseIp4(g) === null) return false;
      count += 2;
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
    count++;
  }
  if (dbl < 0) {
    if (groups.some((g) => g === '')) return false;
    return count === 8;
  }
  // "::" may not be adjoined by a lone ':' (":::" or a leading/trailing single colon).
  if ((a.startsWith(':') && !a.startsWith('::')) || (a.endsWith(':') && !a.endsWith('::'))) return false;
  return count < 8;
}
