import { isIP } from 'node:net'
import type { EventLimits } from '../event/limits.js'
import { ACTOR_TYPES, type Actor, type ActorType, type RequestContext } from '../event/schema.js'

/**
 * The header a request id is read from unless an adapter's `requestIdHeader` option says otherwise.
 * Every adapter uses this default so that the same proxy setup works whichever framework serves the API.
 */
export const DEFAULT_REQUEST_ID_HEADER = 'x-request-id'

/** Methods that only read; they are not recorded unless `recordReads` is set or the handler calls `force()`. */
export const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

/** True for GET, HEAD and OPTIONS (any case). */
export function isReadMethod(method: string): boolean {
  return READ_METHODS.has(method.toUpperCase())
}

/** A request's headers as core may find them: Node's `req.headers` (lower-cased names) or a Fetch `Headers`. */
export type HeaderSource = { get(name: string): string | null } | Readonly<Record<string, string | readonly string[] | undefined>>

/** One header (a lower-case name) of either kind of source; absent or empty counts as absent. */
function headerValue(headers: HeaderSource, name: string): string | undefined {
  const get = (headers as { get?: unknown }).get
  if (typeof get === 'function') return firstHeaderValue((headers as { get(name: string): string | null }).get(name))
  return firstHeaderValue((headers as Readonly<Record<string, string | readonly string[] | undefined>>)[name])
}

/**
 * A browser's CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method` (the Fetch standard's
 * definition). The browser sends it by itself, without credentials, before the request the user's action causes.
 */
export function isCorsPreflight(method: string, headers: HeaderSource | undefined): boolean {
  if (headers === undefined || method.toUpperCase() !== 'OPTIONS') return false
  return headerValue(headers, 'origin') !== undefined && headerValue(headers, 'access-control-request-method') !== undefined
}

/**
 * The first value of a header as Node or a framework hands it over (`string`, `string[]`, `null` or `undefined`);
 * empty strings count as absent.
 */
export function firstHeaderValue(value: string | readonly string[] | null | undefined): string | undefined {
  const first = typeof value === 'string' ? value : value?.[0]
  return first === undefined || first === '' ? undefined : first
}

const ACTOR_TYPE_SET: ReadonlySet<string> = new Set(ACTOR_TYPES)

/** An id as a user object may hold it: a non-empty string or a finite number. */
function idOf(value: unknown): string | undefined {
  const id = typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined
  return id === '' ? undefined : id
}

/**
 * Maps whatever an authentication layer put on the request (`req.user` in Express, Passport and NestJS,
 * a context variable in Hono) to an `Actor`. This is the default actor resolver of every adapter:
 *
 * - an object that already is an Actor (`{ type: 'user' | 'api_key' | 'system', id, name?, email? }`) is kept
 *   (only those four fields);
 * - any other object with an `id` (string or number) becomes `{ type: 'user', id, name, email }`, where `name` is
 *   the first of `name`, `displayName`, `username` that is a string. Without an `id`, a JWT payload's `sub` (what
 *   NestJS's authentication guide puts on `req.user`) or a `userId` (its Passport recipe) is the id;
 * - anything else (no user, no id) gives `undefined`, which the capture records as the anonymous actor.
 *
 * API keys: set `type: 'api_key'` on the object your key authentication attaches, or pass an `actor` resolver.
 */
export function actorFromUser(user: unknown): Actor | undefined {
  if (user === null || typeof user !== 'object') return undefined
  const candidate = user as Record<string, unknown>
  const id = idOf(candidate.id) ?? idOf(candidate.sub) ?? idOf(candidate.userId)
  if (id === undefined) return undefined
  const type: ActorType =
    typeof candidate.type === 'string' && ACTOR_TYPE_SET.has(candidate.type) ? (candidate.type as ActorType) : 'user'
  const name = [candidate.name, candidate.displayName, candidate.username].find((v): v is string => typeof v === 'string' && v !== '')
  const email = typeof candidate.email === 'string' && candidate.email !== '' ? candidate.email : undefined
  const actor: Actor = { type, id }
  if (name !== undefined) actor.name = name
  if (email !== undefined) actor.email = email
  return actor
}

/** `::ffff:10.0.0.1` → `10.0.0.1`: IPv4 clients of a dual-stack server are recorded in their usual form. */
export function normalizeIp(ip: string | undefined): string | undefined {
  if (ip === undefined || ip === '') return undefined
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip
}

/**
 * Shortens a client-supplied string to `max` characters. Request facts (user agent, path) come from the client:
 * an over-long header must not cost the audit record, so these are clipped instead of rejected.
 */
export function clip(value: string | undefined, max: number): string | undefined {
  if (value === undefined) return undefined
  return value.length > max ? value.slice(0, max) : value
}

/** A path segment percent-decoded, or as written when it is not valid percent-encoding (`%E0%A4`). */
export function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/**
 * A request's facts as an event's `context`, bounded by the recording logger's limits: a long path, route or user
 * agent is clipped, an over-long IP or request id (only useful verbatim) is left out, and so is an IP that is not one. The facts come from the client:
 * unbounded, one long header would make the event invalid and the request unrecorded. Used for the app's requests
 * and for the admin's own events alike; properties are written in one order (one object shape on the hot path).
 */
export function boundRequestContext(facts: RequestContext, limits: Pick<EventLimits, 'maxIdLength' | 'maxTextLength'>): RequestContext {
  const context: RequestContext = {}
  if (facts.method !== undefined) context.method = facts.method
  if (facts.path !== undefined) context.path = clip(facts.path, limits.maxTextLength)
  if (facts.status !== undefined) context.status = facts.status
  // A platform's own proxy walk (Express's `req.ip`) returns a forwarded entry as written: text that is no address
  // came from the client, and is no IP to record or to filter by.
  if (facts.ip !== undefined && facts.ip.length <= 64 && isIP(facts.ip) !== 0) context.ip = facts.ip
  if (facts.userAgent) context.userAgent = clip(facts.userAgent, limits.maxTextLength)
  if (facts.route !== undefined) context.route = clip(facts.route, limits.maxTextLength)
  if (facts.requestId && facts.requestId.length <= limits.maxIdLength) context.requestId = facts.requestId
  return context
}

