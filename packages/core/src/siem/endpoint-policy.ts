import { lookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'
import { AuditKitError } from '../errors.js'

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
 * IPv4-mapped IPv6 spellings (`::ffff:0.0.0.0`) are refused with their IPv4 address.
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
    const [network, prefix] = entry.split('/')
    const family = isIP(network ?? '')
    if (family !== 0 && network) {
      const type = family === 4 ? 'ipv4' : 'ipv6'
      const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix)
      if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) {
        throw new AuditKitError('INVALID_OPTIONS', `endpointPolicy.${label}: "${raw}" has an invalid prefix length`)
      }
      rules.ranges.addSubnet(network, bits, type)
    } else if (entry.startsWith('*.') && entry.length > 2) rules.suffixes.push(entry.slice(1))
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

  function checkAddress(host: string, address: string): void {
    if (matchesAddress(deny, address)) refuse(host, `it resolves to ${address}, an unspecified, link-local, metadata or denied address`)
    if (!allow.empty && !matchesHost(allow, host) && !matchesAddress(allow, address)) {
      refuse(host, `${address} is not on the allow list`)
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
