import { lookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'
import { AuditKitError } from '../errors.js'
import { parseIpRange } from '../net/ip-range.js'

/**
 * Which SIEM endpoints a tenant admin may point AuditKit at. Entries are host names (`collector.example.com`,
 * `*.example.com` for any subdomain), IP addresses, or CIDR ranges (`10.0.0.0/8`, `fd00::/8`).
 */
export interface EndpointPolicy {
  /**
   * When non-empty, only endpoints matching an entry (by host name, or every resolved address by range) are allowed.
   * @default [] (any host)
   */
  allow?: readonly string[]
  /**
   * Refused in addition to `DEFAULT_DENIED_ENDPOINTS` (the unspecified addresses, link-local and cloud metadata
   * addresses: always refused, whatever `allow` says). Loopback stays allowed so that local collectors and tests work.
   * @default []
   */
  deny?: readonly string[]
}

/**
 * Always refused, whatever the policy (an `allow` entry does not re-open them):
 * - the unspecified addresses `0.0.0.0/8` ("this network") and `::`: never a collector, and on Linux a connection to
 *   `0.0.0.0` or `::` reaches the machine itself (loopback by another name, past a `127.0.0.0/8` deny entry);
 * - link-local, where cloud metadata services live (`169.254.169.254`), and the metadata addresses outside it:
 *   AWS's IPv6 one and Alibaba Cloud's `100.100.100.200`.
 * IPv4-mapped IPv6 spellings (`::ffff:0.0.0.0`) are refused with their IPv4 address, and so are the IPv6 addresses
 * that embed one: NAT64's `64:ff9b::/96` (`64:ff9b::a9fe:a9fe` is `169.254.169.254` through the NAT64 gateway), the
 * local-use NAT64 prefix `64:ff9b:1::/48` (RFC 8215; the IPv4 address in the last 32 bits, as a /96 within it holds
 * it) and the deprecated IPv4-compatible `::a.b.c.d` (`::` and `::1` excepted: IPv6's own unspecified and loopback).
 */
export const DEFAULT_DENIED_ENDPOINTS: readonly string[] = [
  '0.0.0.0/8',
  '::/128',
  '169.254.0.0/16',
  'fe80::/10',
  'fd00:ec2::254/128',
  '100.100.100.200/32',
]

interface CompiledRules {
  hosts: string[]
  suffixes: string[]
  ranges: BlockList
  empty: boolean
}

function compile(entries: readonly string[], label: string): CompiledRules {
  const rules: CompiledRules = { hosts: [], suffixes: [], ranges: new BlockList(), empty: entries.length === 0 }
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase()
    const range = parseIpRange(entry)
    if (range === 'invalid_prefix') throw new AuditKitError('INVALID_OPTIONS', `endpointPolicy.${label}: "${raw}" has an invalid prefix length`)
    if (range) rules.ranges.addSubnet(range.address, range.prefix, range.type)
    else if (entry.startsWith('*.') && entry.length > 2) rules.suffixes.push(entry.slice(1))
    else if (/^[a-z0-9.-]+$/.test(entry)) rules.hosts.push(entry)
    else throw new AuditKitError('INVALID_OPTIONS', `endpointPolicy.${label}: "${raw}" is not a host name, IP address or CIDR range`)
  }
  return rules
}

/** `::ffff:169.254.169.254` is the IPv4 address in disguise: check it as IPv4. */
function normalise(address: string): { address: string; type: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped?.[1]) return { address: mapped[1], type: 'ipv4' }
  return { address, type: isIP(address) === 4 ? 'ipv4' : 'ipv6' }
}

/** `collector.example.com.` (fully qualified, with its trailing dot) is the same DNS name as `collector.example.com`. */
function matchesHost(rules: CompiledRules, host: string): boolean {
  const name = host.endsWith('.') ? host.slice(0, -1) : host
  return rules.hosts.includes(name) || rules.suffixes.some((suffix) => name.endsWith(suffix))
}

/**
 * The host as the connection will see it: an IPv4 address in any notation the URL parser and the resolver accept
 * (`0`, `0x7f.1`, `0177.0.0.1`, `127.0.0.1.`) becomes its dotted form, an IPv6 literal its compressed form (`::`
 * for `0:0:0:0:0:0:0:0`); any other name is only lower-cased. So `0` is checked as `0.0.0.0`, not as a host name.
 */
function canonicalHost(hostname: string): string {
  const host = hostname.trim().replace(/^\[|\]$/g, '').toLowerCase()
  const ipv6 = host.includes(':')
  // Only what can be an IP address goes through the URL parser (which would also cut a name at "/", "?" or "@").
  if (!ipv6 && !/^[0-9a-fx.]+$/.test(host)) return host
  try {
    return new URL(`http://${ipv6 ? `[${host}]` : host}/`).hostname.replace(/^\[|\]$/g, '')
  } catch {
    return host
  }
}

/** The eight 16-bit groups of an IPv6 address in any notation (`::`, a dotted IPv4 tail), or null. */
function ipv6Groups(address: string): number[] | null {
  let host: string
  try {
    // The URL parser writes it compressed, in hex only (`::169.254.169.254` becomes `::a9fe:a9fe`). It refuses a zone id
    // (`%eth0`), which Node's isIP and the connection accept: the groups are those of the address before it.
    host = new URL(`http://[${address.replace(/%.*$/s, '')}]/`).hostname.replace(/^\[|\]$/g, '')
  } catch {
    return null
  }
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16)))
  const [head = '', tail] = host.split('::')
  const left = parse(head)
  const right = tail === undefined ? [] : parse(tail)
  const groups = tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
  return groups.length === 8 && groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? groups : null
}

/**
 * The IPv4 address an IPv6 address reaches: the last 32 bits of a NAT64 address (`64:ff9b::/96`, RFC 6052; or the
 * local-use `64:ff9b:1::/48`, RFC 8215, whose usual deployment is a /96 within it) or of a deprecated IPv4-compatible
 * one (`::a.b.c.d`; not `::` nor `::1`, IPv6's own). IPv4-mapped `::ffff:a.b.c.d` is left to the BlockList, which checks
 * it as its IPv4 address already.
 */
function embeddedIpv4(address: string): string | null {
  if (isIP(address) !== 6) return null
  const groups = ipv6Groups(address)
  if (!groups) return null
  const [a, b, c, d, e, f, high = 0, low = 0] = groups
  const nat64 = a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0
  // Any /96 of the local-use /48: the operator picks groups 4-6, so they are not checked (refusing more, never less).
  const localNat64 = a === 0x64 && b === 0xff9b && c === 1
  const compatible = a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && f === 0 && (high !== 0 || low > 1)
  return nat64 || localNat64 || compatible ? `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}` : null
}

function matchesAddress(rules: CompiledRules, address: string): boolean {
  const { address: plain, type } = normalise(address)
  return rules.ranges.check(plain, type)
}

export interface ResolvedAddress {
  address: string
  family: 4 | 6
}

export interface EndpointGuard {
  /** Checks the host name (and the address, when the host is an IP literal). Throws `ENDPOINT_NOT_ALLOWED`. */
  checkHost(hostname: string): void
  /**
   * Resolves the host and checks every address; answers the address to connect to, so that a second DNS answer
   * cannot swap in a refused address. Throws `ENDPOINT_NOT_ALLOWED`, or rejects with the DNS error.
   */
  resolve(hostname: string): Promise<ResolvedAddress>
}

export function createEndpointGuard(policy: EndpointPolicy = {}): EndpointGuard {
  const allow = compile(policy.allow ?? [], 'allow')
  const deny = compile([...DEFAULT_DENIED_ENDPOINTS, ...(policy.deny ?? [])], 'deny')
  const refuse = (hostname: string, why: string): never => {
    throw new AuditKitError('ENDPOINT_NOT_ALLOWED', `The SIEM endpoint host "${hostname}" is not allowed: ${why}`)
  }
  function checkHost(hostname: string): void {
    const host = canonicalHost(hostname)
    if (matchesHost(deny, host)) refuse(host, 'it is on the deny list')
    if (isIP(host) !== 0) {
      checkAddress(host, host)
      return
    }
    // A host name on the allow list is allowed whatever it resolves to (except denied addresses).
    if (!allow.empty && !hasRanges(allow) && !matchesHost(allow, host)) {
      refuse(host, 'it is not on the allow list')
    }
  }

  /**
   * The address, and the IPv4 address it embeds (NAT64, IPv4-compatible): either one on the deny list refuses it; on an
   * allow list, either one admits it (an IPv4 range allowed is reached through DNS64's NAT64 addresses too).
   */
  function checkAddress(host: string, address: string): void {
    const ipv4 = embeddedIpv4(address)
    const named = ipv4 ? `${address} (${ipv4})` : address
    const addresses = ipv4 ? [address, ipv4] : [address]
    if (addresses.some((candidate) => matchesAddress(deny, candidate))) {
      refuse(host, `it resolves to ${named}, an unspecified, link-local, metadata or denied address`)
    }
    if (!allow.empty && !matchesHost(allow, host) && !addresses.some((candidate) => matchesAddress(allow, candidate))) {
      refuse(host, `${named} is not on the allow list`)
    }
  }

  return {
    checkHost,
    async resolve(hostname) {
      checkHost(hostname)
      const host = canonicalHost(hostname)
      const family = isIP(host)
      if (family !== 0) return { address: host, family: family as 4 | 6 }
      const addresses = await lookup(host, { all: true, verbatim: true })
      for (const { address } of addresses) checkAddress(host, address)
      const first = addresses[0]
      if (!first) throw Object.assign(new Error(`${host} has no addresses`), { code: 'ENOTFOUND' })
      return { address: first.address, family: first.family === 6 ? 6 : 4 }
    },
  }
}

function hasRanges(rules: CompiledRules): boolean {
  return rules.ranges.rules.length > 0
}
