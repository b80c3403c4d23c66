import { AuditKitError } from '../errors.js'
import { ACTION_PATTERN, ACTOR_TYPES, OUTCOMES, RESOURCE_TYPE_PATTERN, type ActorType, type Outcome } from '../event/schema.js'
import type { EventFilter } from '../store/types.js'
import type { TimeRange } from './types.js'

/** Longest query string accepted; anything longer is an attack or a mistake. */
export const MAX_QUERY_STRING_LENGTH = 8192
/** Longest single value (ids are at most 256 characters in the event model). */
const MAX_VALUE_LENGTH = 256
const MAX_SEARCH_LENGTH = 200
const DAY_MS = 86_400_000
/** The window when `from` is not given. */
export const DEFAULT_WINDOW_DAYS = 365

export const FILTER_PARAMS = ['actor', 'actorType', 'action', 'resourceType', 'resourceId', 'outcome', 'from', 'to', 'q'] as const

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\x00-\x1F\x7F]/
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/
// Up to nanoseconds: Python's isoformat() sends microseconds, .NET 7 digits, Java's Instant and Go's RFC3339Nano nanoseconds.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})$/

function invalid(message: string): AuditKitError {
  return new AuditKitError('INVALID_QUERY', message)
}

/**
 * Reads the query string into single values: unknown names (including `actor[$ne]`-style operators),
 * repeated names and oversized input are refused, so that only plain strings ever reach a store.
 */
export function readParams(url: URL, allowed: readonly string[]): Map<string, string> {
  if (url.search.length > MAX_QUERY_STRING_LENGTH)
    throw invalid(`The query string is longer than ${MAX_QUERY_STRING_LENGTH} characters; narrow the filters.`)
  const params = new Map<string, string>()
  for (const [name, value] of url.searchParams) {
    if (!allowed.includes(name)) {
      const list = allowed.length > 0 ? `Allowed: ${allowed.join(', ')}.` : 'This route takes no query parameters.'
      throw invalid(`Unknown query parameter "${name.slice(0, 64)}". ${list}`)
    }
    if (params.has(name)) throw invalid(`Query parameter "${name}" is given more than once; give it once.`)
    params.set(name, value)
  }
  return params
}

function text(params: Map<string, string>, name: string, maxLength = MAX_VALUE_LENGTH): string | undefined {
  const value = params.get(name)
  if (value === undefined) return undefined
  if (value.length === 0) throw invalid(`"${name}" is empty; leave it out or give a value.`)
  if (value.length > maxLength) throw invalid(`"${name}" is longer than ${maxLength} characters.`)
  if (CONTROL_CHARS.test(value)) throw invalid(`"${name}" contains control characters.`)
  return value
}

function oneOf<T extends string>(params: Map<string, string>, name: string, values: readonly T[]): T | undefined {
  const value = params.get(name)
  if (value === undefined) return undefined
  if (!(values as readonly string[]).includes(value)) throw invalid(`"${name}" must be one of ${values.join(', ')}.`)
  return value as T
}

function matching(params: Map<string, string>, name: string, pattern: RegExp, example: string): string | undefined {
  const value = text(params, name, 128)
  if (value !== undefined && !pattern.test(value)) throw invalid(`"${name}" must be snake_case, e.g. "${example}".`)
  return value
}

/**
 * Milliseconds of a date-time whose fraction may be finer than a millisecond. Events are stamped to the millisecond,
 * so rounding a finer bound *up* keeps `[from, to)` exact: an event at t is in it iff from <= t < to.
 */
function parseDateTime(value: string, fraction: string | undefined): number {
  if (fraction === undefined || fraction.length <= 3) return Date.parse(value)
  const ms = Date.parse(value.replace(`.${fraction}`, `.${fraction.slice(0, 3)}`))
  return /[1-9]/.test(fraction.slice(3)) ? ms + 1 : ms
}

/**
 * An instant in ISO 8601: a UTC date (`2026-01-31`, midnight UTC) or a date-time with a zone designator
 * (`2026-01-31T09:00:00Z`, `...+09:00`). Answers the normalised UTC form with milliseconds.
 */
export function parseInstant(name: string, value: string): string {
  const hint = `"${name}" must be an ISO 8601 date or date-time with a zone, e.g. 2026-01-31 or 2026-01-31T09:00:00Z.`
  if (value.length > 40) throw new AuditKitError('INVALID_RANGE', hint)
  const date = DATE_ONLY.exec(value)
  const dateTime = date ? null : DATE_TIME.exec(value)
  if (!date && !dateTime) {
    // An unencoded `+` of an offset arrives as a space (form encoding): say so, it is the usual cause.
    const plusAsSpace = DATE_TIME.test(value.replace(/ (\d{2}:\d{2})$/, '+$1'))
    throw new AuditKitError('INVALID_RANGE', plusAsSpace ? `${hint} A "+" in a URL must be sent as %2B: ${name}=${value.replace(' ', '%2B')}` : hint)
  }
  const parts = (date ?? dateTime) as RegExpExecArray
  const [year, month, day] = [Number(parts[1]), Number(parts[2]), Number(parts[3])]
  const ms = date ? Date.UTC(year, month - 1, day) : parseDateTime(value, parts[7])
  const check = new Date(Date.UTC(year, month - 1, day))
  // Date.parse rolls 2026-02-30 over to March: refuse impossible calendar dates instead.
  if (!Number.isFinite(ms) || check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day)
    throw new AuditKitError('INVALID_RANGE', `"${name}" is not a real date: ${value}.`)
  if (dateTime && (Number(parts[4]) > 23 || Number(parts[5]) > 59 || Number(parts[6] ?? 0) > 59))
    throw new AuditKitError('INVALID_RANGE', `"${name}" has an impossible time of day: ${value}.`)
  // A zone offset can carry 9999-12-31 past the year 9999 in UTC, whose ISO form ("+010000-...") sorts before every date.
  if (year < 1970 || year > 9999 || new Date(ms).getUTCFullYear() > 9999)
    throw new AuditKitError('INVALID_RANGE', `"${name}" must be between 1970 and 9999.`)
  return new Date(ms).toISOString()
}

export interface RangeDefaults {
  now: Date
  /** A window carried by a cursor, used when the query names no bounds. */
  window?: TimeRange | undefined
}

/** `[from, to)`: defaults to the last 365 days up to now; a reversed or empty range is refused. */
export function readRange(params: Map<string, string>, defaults: RangeDefaults): TimeRange {
  const rawFrom = params.get('from')
  const rawTo = params.get('to')
  if (rawFrom === undefined && rawTo === undefined && defaults.window) return defaults.window
  // `to` is exclusive: one millisecond past now includes an event stamped this very millisecond.
  const to = rawTo === undefined ? new Date(defaults.now.getTime() + 1).toISOString() : parseInstant('to', rawTo)
  const from = rawFrom === undefined ? new Date(Date.parse(to) - DEFAULT_WINDOW_DAYS * DAY_MS).toISOString() : parseInstant('from', rawFrom)
  if (from >= to) throw new AuditKitError('INVALID_RANGE', `"from" (${from}) must be earlier than "to" (${to}); swap them or widen the range.`)
  return { from, to }
}

/** The explicit filters of a query, without the time window (which has defaults). */
export type ExplicitFilters = Omit<EventFilter, 'tenantId' | 'from' | 'to'>

/** Reads and validates the filters every list, facet and export route shares. */
export function readFilters(params: Map<string, string>): ExplicitFilters {
  const filters: ExplicitFilters = {}
  const actor = text(params, 'actor')
  if (actor !== undefined) filters.actor = actor
  const actorType = oneOf<ActorType>(params, 'actorType', ACTOR_TYPES)
  if (actorType !== undefined) filters.actorType = actorType
  const action = matching(params, 'action', ACTION_PATTERN, 'project_created')
  if (action !== undefined) filters.action = action
  const resourceType = matching(params, 'resourceType', RESOURCE_TYPE_PATTERN, 'api_key')
  if (resourceType !== undefined) filters.resourceType = resourceType
  const resourceId = text(params, 'resourceId')
  if (resourceId !== undefined) filters.resourceId = resourceId
  const outcome = oneOf<Outcome>(params, 'outcome', OUTCOMES)
  if (outcome !== undefined) filters.outcome = outcome
  const q = text(params, 'q', MAX_SEARCH_LENGTH)
  if (q !== undefined) filters.q = q
  return filters
}

/** An integer in `[min, max]`, or the default. */
export function readInteger(params: Map<string, string>, name: string, bounds: { min: number; max: number; default: number }): number {
  const value = params.get(name)
  if (value === undefined) return bounds.default
  if (!/^\d{1,6}$/.test(value) || Number(value) < bounds.min || Number(value) > bounds.max)
    throw invalid(`"${name}" must be a whole number from ${bounds.min} to ${bounds.max}.`)
  return Number(value)
}

/** `true`/`false` (also `1`/`0`), or the default. */
export function readBoolean(params: Map<string, string>, name: string, fallback: boolean): boolean {
  const value = params.get(name)
  if (value === undefined) return fallback
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  throw invalid(`"${name}" must be true or false.`)
}
