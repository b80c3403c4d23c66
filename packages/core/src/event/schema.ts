import { z } from 'zod'
import { AuditKitError, isAuditKitError, type AuditErrorDetail } from '../errors.js'
import { DEFAULT_EVENT_LIMITS, type EventLimits } from './limits.js'
import { copyJsonValue, createFastAccept } from './fast-accept.js'

/** Who did it: a person, an API key, or the system itself (jobs, schedules). */
export const ACTOR_TYPES = ['user', 'api_key', 'system'] as const
export const OUTCOMES = ['success', 'failure'] as const

/** snake_case `<resource>_<past verb>`, e.g. `project_created`, `member_role_updated`. */
export const ACTION_PATTERN = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$/
/** snake_case resource type, e.g. `project`, `api_key`. */
export const RESOURCE_TYPE_PATTERN = /^[a-z][a-z0-9_]{0,63}$/

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number().finite(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
)
const jsonObject = z.record(z.string(), jsonValue)

function buildSchemas(limits: EventLimits) {
  const id = z.string().min(1).max(limits.maxIdLength)
  const text = z.string().max(limits.maxTextLength)
  const actor = z.strictObject({
    type: z.enum(ACTOR_TYPES),
    id,
    name: text.optional(),
    email: text.optional(),
  })
  const resourceRef = z.strictObject({
    type: z.string().regex(RESOURCE_TYPE_PATTERN, 'must be snake_case, e.g. "api_key"'),
    id: id.optional(),
    name: text.optional(),
  })
  const context = z.strictObject({
    ip: z.string().max(64).optional(),
    userAgent: text.optional(),
    method: z.string().max(16).optional(),
    path: text.optional(),
    route: text.optional(),
    status: z.number().int().min(100).max(599).optional(),
    requestId: id.optional(),
  })
  const changes = z.strictObject({ before: jsonValue.optional(), after: jsonValue.optional() })
  const input = z.strictObject({
    tenantId: id,
    actor,
    action: z.string().max(128).regex(ACTION_PATTERN, 'must be snake_case "<resource>_<past verb>", e.g. "project_created"'),
    resource: resourceRef,
    targets: z.array(resourceRef).max(limits.maxTargets).optional(),
    outcome: z.enum(OUTCOMES),
    context: context.optional(),
    changes: changes.optional(),
    metadata: jsonObject.optional(),
  })
  return { actor, resourceRef, context, changes, input }
}

const defaultSchemas = buildSchemas(DEFAULT_EVENT_LIMITS)

export type ActorType = (typeof ACTOR_TYPES)[number]
export type Outcome = (typeof OUTCOMES)[number]
export type Actor = z.infer<typeof defaultSchemas.actor>
export type ResourceRef = z.infer<typeof defaultSchemas.resourceRef>
export type RequestContext = z.infer<typeof defaultSchemas.context>
export type Changes = z.infer<typeof defaultSchemas.changes>
/** What a caller hands to `record()`: everything but the fields AuditKit stamps itself. */
export type AuditEventInput = z.infer<typeof defaultSchemas.input>

/** An event after validation and redaction, with its id and server time, not yet placed in a chain. */
export interface UnsealedEvent extends AuditEventInput {
  /** UUIDv7, time-ordered; idempotency key downstream. */
  id: string
  /** ISO 8601 UTC with milliseconds, from the server clock. */
  occurredAt: string
  /** One chain per tenant: equals `tenantId`. */
  chainId: string
}

/** A stored event: placed in its chain and hashed. */
export interface AuditEvent extends UnsealedEvent {
  /** 1, 2, 3, ... per chain, without gaps. */
  seq: number
  /** `hash` of the previous event in the chain (64 zeros for `seq` 1). */
  prevHash: string
  /** SHA-256 (or HMAC-SHA-256) hex over the canonical event and `prevHash`. */
  hash: string
}

/** The fields of an event in their public order: CSV columns, OTLP attributes and the UI derive from it. */
export const EVENT_FIELDS = [
  'id',
  'occurredAt',
  'tenantId',
  'actor',
  'action',
  'resource',
  'targets',
  'outcome',
  'context',
  'changes',
  'metadata',
  'chainId',
  'seq',
  'prevHash',
  'hash',
] as const satisfies readonly (keyof AuditEvent)[]

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8')
}

/**
 * Whether a raw `changes` or `metadata` value is certainly over its bounds, decided before zod walks it: zod's
 * recursion overflows the stack on values nested some thousands deep (or cyclic), and it visits every slot of an
 * array, so one of huge length (sparse costs nothing to make) blocks the process for seconds or hours. Counts a lower
 * bound of the value's JSON bytes and stops as soon as a bound is crossed, so the work is bounded by `maxBytes`;
 * the exact checks run on the parsed value afterwards.
 */
function overBounds(value: unknown, maxBytes: number, maxDepth: number): 'too_large' | 'too_deep' | undefined {
  let bytes = 0
  const visit = (v: unknown, depth: number): 'too_large' | 'too_deep' | undefined => {
    if (v === null || typeof v !== 'object') {
      // A string's UTF-8 bytes are at least its UTF-16 length; any other JSON scalar takes at least one byte.
      bytes += typeof v === 'string' ? v.length + 2 : 1
      return bytes > maxBytes ? 'too_large' : undefined
    }
    if (depth > maxDepth) return 'too_deep'
    if (Array.isArray(v)) {
      // `[`, `]`, the commas, and at least a byte an item.
      bytes += 2 + Math.max(0, v.length - 1)
      if (bytes > maxBytes) return 'too_large'
      for (let i = 0; i < v.length; i++) {
        const problem = visit(v[i], depth + 1)
        if (problem) return problem
      }
      return undefined
    }
    bytes += 2
    let first = true
    for (const key of Object.keys(v)) {
      if (key === '__proto__') continue // zod leaves it out of the parsed value
      bytes += key.length + (first ? 3 : 4) // quotes, colon and the comma before all but the first
      first = false
      const problem = bytes > maxBytes ? 'too_large' : visit((v as Record<string, unknown>)[key], depth + 1)
      if (problem) return problem
    }
    return bytes > maxBytes ? 'too_large' : undefined
  }
  return visit(value, 1)
}

function depthOf(value: unknown, depth = 0): number {
  if (value === null || typeof value !== 'object') return depth
  let max = depth + 1
  for (const child of Object.values(value)) max = Math.max(max, depthOf(child, depth + 1))
  return max
}

function reasonOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_big':
      return 'too_long'
    case 'too_small':
      return 'too_short'
    case 'invalid_format':
      return 'invalid_format'
    case 'invalid_value':
      return 'invalid_value'
    case 'unrecognized_keys':
      return 'unknown_field'
    case 'invalid_type':
      // `input` is present because the schema is run with `reportInput` (zod leaves it out otherwise).
      return 'input' in issue && issue.input !== undefined ? 'invalid_type' : 'required'
    case 'invalid_union':
      return 'invalid_type' // only `jsonValue` is a union: a value JSON cannot hold
    default:
      return 'invalid'
  }
}

/**
 * The bounds in force: the given ones over the defaults. An undefined bound keeps its default; NaN (e.g.
 * `Number(process.env.X)` unset) or a string would make every comparison false and so silently lift the bound, which
 * is refused with `INVALID_OPTIONS` instead.
 */
export function resolveEventLimits(limits: Partial<EventLimits> = {}): EventLimits {
  const resolved: EventLimits = { ...DEFAULT_EVENT_LIMITS }
  for (const name of Object.keys(DEFAULT_EVENT_LIMITS) as (keyof EventLimits)[]) {
    const value: unknown = limits[name]
    if (value === undefined) continue
    if (typeof value !== 'number' || !(value >= 0)) throw new AuditKitError('INVALID_OPTIONS', `limits.${name} must be a non-negative number`)
    resolved[name] = value
  }
  return resolved
}

/** Validates input against the event model and size bounds; one factory per `limits` so schemas are built once. */
export function createEventValidator(
  limits: Partial<EventLimits> = {},
  /** @internal `fastPath: false` validates with the zod schema alone (the fast path's tests compare against it). */
  internal: { fastPath?: boolean } = {},
): (input: unknown) => AuditEventInput {
  const resolved = resolveEventLimits(limits)
  const custom = (Object.keys(DEFAULT_EVENT_LIMITS) as (keyof EventLimits)[]).some((name) => resolved[name] !== DEFAULT_EVENT_LIMITS[name])
  const schemas = custom ? buildSchemas(resolved) : defaultSchemas
  const fastAccept =
    internal.fastPath === false ? () => undefined : createFastAccept(resolved, { action: ACTION_PATTERN, resourceType: RESOURCE_TYPE_PATTERN })
  const parseSlowly = (input: unknown): ReturnType<typeof schemas.input.safeParse> => {
    try {
      if (input !== null && typeof input === 'object') {
        const { changes, metadata } = input as { changes?: unknown; metadata?: unknown }
        const oversized: AuditErrorDetail[] = []
        for (const [field, value, maxBytes] of [['changes', changes, resolved.maxChangesBytes], ['metadata', metadata, resolved.maxMetadataBytes]] as const) {
          const problem = value === undefined ? undefined : overBounds(value, maxBytes, resolved.maxDepth)
          if (problem === 'too_large') oversized.push(tooLarge(field, maxBytes))
          else if (problem === 'too_deep') oversized.push(tooDeep(field, resolved.maxDepth))
        }
        if (oversized.length > 0) throw tooLargeError(oversized)
      }
      // reportInput: reasonOf tells a wrong type from a missing field, and findNonJson finds the value JSON cannot hold.
      return schemas.input.safeParse(input, { reportInput: true })
    } catch (error) {
      if (isAuditKitError(error)) throw error
      // A getter or proxy in the input that throws: still a refused event with a code, not a bare error.
      const message = `Reading the event failed: ${error instanceof Error ? error.message : String(error)}`
      throw new AuditKitError('INVALID_EVENT', `Invalid audit event: ${message}`, { cause: error, details: [{ path: '', reason: 'unreadable', message }] })
    }
  }
  return (input) => {
    // The common, well-formed event skips zod (a hot path); zod decides and explains everything else.
    let accepted: AuditEventInput | undefined
    try {
      accepted = fastAccept(input)
    } catch {
      accepted = undefined // a getter that throws: parseSlowly reports it
    }
    const parsed = accepted ? ({ success: true, data: accepted } as const) : parseSlowly(input)
    if (!parsed.success) {
      const details: AuditErrorDetail[] = parsed.error.issues.map((issue) => {
        // zod answers "Invalid input" at the outermost value of `changes`/`metadata` that holds a non-JSON value:
        // point at the value itself and say what it is instead.
        const nonJson = issue.code === 'invalid_union' ? findNonJson(issue.input) : undefined
        const path = nonJson ? [...issue.path, ...nonJson.path] : issue.path
        return {
          // String(): a symbol key in `metadata` is in the path, and join() throws on symbols.
          path: path.map(String).join('.'),
          reason: reasonOf(issue),
          message: nonJson ? nonJsonMessage(nonJson.value) : issue.message,
        }
      })
      throw new AuditKitError('INVALID_EVENT', `Invalid audit event: ${details.map((d) => `${d.path || '(event)'} ${d.message}`).join('; ')}`, { details })
    }
    const event = accepted ?? jsonFromInput(parsed.data, input, resolved.maxDepth)
    const oversized: AuditErrorDetail[] = []
    if (event.changes !== undefined && jsonBytes(event.changes) > resolved.maxChangesBytes) oversized.push(tooLarge('changes', resolved.maxChangesBytes))
    if (event.metadata !== undefined && jsonBytes(event.metadata) > resolved.maxMetadataBytes) oversized.push(tooLarge('metadata', resolved.maxMetadataBytes))
    for (const field of ['changes', 'metadata'] as const) {
      if (event[field] !== undefined && depthOf(event[field]) > resolved.maxDepth) oversized.push(tooDeep(field, resolved.maxDepth))
    }
    if (oversized.length > 0) throw tooLargeError(oversized)
    return event
  }
}

/**
 * zod rebuilds records by assignment, which makes an own `__proto__` key (JSON.parse makes one from a request body)
 * the copy's prototype, or drops it: the key was gone from the event, silently. `changes` and `metadata` are taken
 * from the input instead, copied and checked again (a getter may answer differently the second time; the bounds are
 * checked after this).
 */
function jsonFromInput(event: AuditEventInput, input: unknown, maxDepth: number): AuditEventInput {
  if (event.changes === undefined && event.metadata === undefined) return event
  const { changes, metadata } = input as { changes?: { before?: unknown; after?: unknown }; metadata?: unknown }
  const copy: AuditEventInput = { ...event }
  const unstable = (path: string): AuditKitError =>
    new AuditKitError('INVALID_EVENT', `Invalid audit event: ${path} changed while it was read`, { details: [{ path, reason: 'unreadable', message: `${path} changed while it was read` }] })
  if (event.metadata !== undefined) {
    const value = copyJsonValue(metadata, 0, maxDepth)
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw unstable('metadata')
    copy.metadata = value
  }
  if (event.changes !== undefined) {
    const copied: { before?: JsonValue; after?: JsonValue } = {}
    for (const key of ['before', 'after'] as const) {
      if (event.changes[key] === undefined) continue
      const value = copyJsonValue(changes?.[key], 1, maxDepth)
      if (value === undefined) throw unstable(`changes.${key}`)
      copied[key] = value
    }
    copy.changes = copied
  }
  return copy
}

/**
 * The first value JSON cannot hold inside `value`, with its path below it; undefined when none is found (a symbol
 * key, or a getter that throws). Only called on values within the depth and size bounds (checked before zod).
 */
function findNonJson(value: unknown, path: (string | number)[] = []): { path: (string | number)[]; value: unknown } | undefined {
  try {
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined
    if (typeof value === 'number') return Number.isFinite(value) ? undefined : { path, value }
    if (typeof value !== 'object') return { path, value }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const found = findNonJson(value[i], [...path, i])
        if (found) return found
      }
      return undefined
    }
    const proto: unknown = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) return { path, value }
    for (const [key, child] of Object.entries(value)) {
      const found = findNonJson(child, [...path, key])
      if (found) return found
    }
    return undefined
  } catch {
    return undefined
  }
}

/** What a non-JSON value is and what to pass instead, without echoing the value (it may be a secret, or huge). */
function nonJsonMessage(value: unknown): string {
  let what: string
  let hint = ''
  if (value === undefined) [what, hint] = ['undefined', ': leave the key out']
  else if (typeof value === 'number') what = String(value) // NaN, Infinity or -Infinity
  else if (typeof value === 'bigint') [what, hint] = ['a bigint', ': pass it as a string']
  else if (typeof value === 'function' || typeof value === 'symbol') what = `a ${typeof value}`
  else if (value instanceof Date) [what, hint] = ['a Date', ': pass date.toISOString()']
  else {
    const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name
    what = typeof name === 'string' && /^[A-Za-z_$][\w$]{0,63}$/.test(name) ? `${/^[AEIOU]/i.test(name) ? 'an' : 'a'} ${name}` : 'an object that is not plain'
  }
  return `is ${what}, which JSON cannot hold${hint} (allowed: string, finite number, boolean, null, array, plain object)`
}

function tooLarge(field: 'changes' | 'metadata', maxBytes: number): AuditErrorDetail {
  return { path: field, reason: 'too_large', message: `${field} ${field === 'changes' ? 'exceed' : 'exceeds'} ${maxBytes} bytes of JSON` }
}

function tooDeep(field: 'changes' | 'metadata', maxDepth: number): AuditErrorDetail {
  return { path: field, reason: 'too_deep', message: `${field} is nested deeper than ${maxDepth} levels` }
}

function tooLargeError(details: AuditErrorDetail[]): AuditKitError {
  return new AuditKitError('PAYLOAD_TOO_LARGE', `Audit event too large: ${details.map((d) => d.message).join('; ')}`, { details })
}
