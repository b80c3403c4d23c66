import { isIP } from 'node:net'

/** One address (`203.0.113.7`, a range of one) or CIDR range (`10.0.0.0/8`, `2001:db8::/32`). */
export interface IpRange {
  address: string
  type: 'ipv4' | 'ipv6'
  /** Prefix length; the family's full width for a single address. */
  prefix: number
}

/**
 * Reads an address or CIDR range written in a setting (`trustProxy`, an endpoint policy). Answers `undefined` when the
 * part before `/` is no IP address (the caller may accept host names there), and `'invalid_prefix'` for a prefix that
 * is not decimal digits within the family's width, or a second `/`: `Number('')` is 0, and `10.0.0.1/` must never be
 * read as `/0`, which would match every address of the family.
 */
export function parseIpRange(entry: string): IpRange | 'invalid_prefix' | undefined {
  const [address = '', prefixText, extra] = entry.split('/')
  const family = isIP(address)
  if (family === 0) return undefined
  const type = family === 4 ? 'ipv4' : 'ipv6'
  const width = family === 4 ? 32 : 128
  if (prefixText === undefined) return { address, type, prefix: width }
  if (extra !== undefined || !/^\d{1,3}$/.test(prefixText) || Number(prefixText) > width) return 'invalid_prefix'
  return { address, type, prefix: Number(prefixText) }
}
