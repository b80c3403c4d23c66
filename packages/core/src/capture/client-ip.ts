import { BlockList, isIP } from 'node:net'
import { AuditKitError } from '../errors.js'
import { parseIpRange } from '../net/ip-range.js'
import { normalizeIp } from './request-facts.js'

/**
 * Which proxies in front of the app may set `X-Forwarded-For`:
 * - `false` — none: the socket address is the client (the safe default);
 * - `true` — every hop: the left-most forwarded address is the client;
 * - a number — that many hops (proxies) in front of the app;
 * - addresses / CIDRs / presets (`loopback`, `linklocal`, `uniquelocal`) — only these proxies;
 * - a function `(address, hopIndex) => boolean` deciding per hop.
 *
 * The semantics follow Express's `trust proxy` setting, so one value means the same in every adapter.
 */
export type TrustProxy = boolean | number | string | readonly string[] | ((address: string, hopIndex: number) => boolean)

export interface ClientIpInput {
  /** The TCP peer address (`socket.remoteAddress`); `undefined` (a closed socket) resolves no address. Required. */
  socketIp: string | undefined
  /**
   * The raw `X-Forwarded-For` header value(s); only read when the socket address is a trusted proxy.
   * @default undefined (the socket address is the client)
   */
  forwardedFor?: string | readonly string[] | undefined
  /**
   * Which proxies may set `X-Forwarded-For` (see {@link TrustProxy}). Ignored when `resolveClientIp` is given a
   * compiled predicate as its second argument.
   * @default false (no proxy is trusted)
   */
  trustProxy?: TrustProxy
}

const PRESETS: Record<string, readonly string[]> = {
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
}

/** Trimmed, with IPv4-mapped IPv6 unwrapped (`::ffff:10.0.0.1` → `10.0.0.1`) so IPv4 rules match dual-stack sockets. */
function unmapIpv4(address: string): string {
  return normalizeIp(address.trim()) ?? ''
}

/**
 * Turns a `TrustProxy` value into a per-hop predicate once, at setup; invalid addresses fail fast with
 * `INVALID_OPTIONS` rather than silently trusting nothing.
 */
export function compileTrustProxy(trust: TrustProxy | undefined): (address: string, hopIndex: number) => boolean {
  if (trust === undefined || trust === false) return () => false
  if (trust === true) return () => true
  if (typeof trust === 'function') return trust
  if (typeof trust === 'number') {
    if (!Number.isInteger(trust) || trust < 0) throw new AuditKitError('INVALID_OPTIONS', `trustProxy hop count must be a non-negative integer, got ${trust}`)
    return (_address, hopIndex) => hopIndex < trust
  }
  const entries = (typeof trust === 'string' ? trust.split(',') : trust).map((entry) => entry.trim()).filter(Boolean)
  const list = new BlockList()
  for (const entry of entries.flatMap((e) => PRESETS[e] ?? [e])) addToBlockList(list, entry)
  return (address) => {
    const ip = unmapIpv4(address)
    const family = isIP(ip)
    if (family === 0) return false
    return list.check(ip, family === 4 ? 'ipv4' : 'ipv6')
  }
}

function addToBlockList(list: BlockList, entry: string): void {
  const [address = '', ...prefix] = entry.split('/')
  // A trusted proxy written as an IPv4-mapped IPv6 address is the IPv4 one.
  const range = parseIpRange([unmapIpv4(address), ...prefix].join('/'))
  if (range === undefined) throw new AuditKitError('INVALID_OPTIONS', `trustProxy entry "${entry}" is not an IP address, CIDR or preset`)
  if (range === 'invalid_prefix') throw new AuditKitError('INVALID_OPTIONS', `trustProxy entry "${entry}" has an invalid prefix length`)
  list.addSubnet(range.address, range.prefix, range.type)
}

/**
 * The client address of a request: walks from the socket address leftwards through `X-Forwarded-For` while the
 * current hop is a trusted proxy, and returns the first address that is not (Express's `proxy-addr` rule).
 * Without trust, the header is ignored: a client cannot forge its own IP.
 */
export function resolveClientIp(input: ClientIpInput, isTrusted = compileTrustProxy(input.trustProxy)): string | undefined {
  if (input.socketIp === undefined || input.socketIp === '') return undefined
  const socketIp = unmapIpv4(input.socketIp)
  const header = Array.isArray(input.forwardedFor) ? input.forwardedFor.join(',') : (input.forwardedFor as string | undefined)
  if (!header) return socketIp
  // Nearest hop first: the socket, then the header right to left.
  const hops = [
    socketIp,
    ...header
      .split(',')
      .map((part) => unmapIpv4(part))
      .filter((part) => part.length > 0)
      .reverse(),
  ]
  for (let i = 0; i < hops.length - 1; i++) {
    const hop = hops[i] as string
    // A malformed forwarded entry ends the walk: it could only come from the client, and must not replace a real address.
    if (!isTrusted(hop, i) || isIP(hops[i + 1] as string) === 0) return hop
  }
  return hops[hops.length - 1]
}
