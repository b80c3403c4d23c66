import { z } from 'zod'
import { AuditKitError, type AuditErrorDetail } from '../errors.js'
import { DEFAULT_EVENT_LIMITS, type EventLimits } from './limits.js'
import { createFastAccept } from './fast-accept.js'

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
      return issue.input === undefined ? 'required' : 'invalid_type'
    default:
      return 'invalid'
  }
}

/** Validates input against the event model and size bounds; one factory per `limits` so schemas are built once. */
export function createEventValidator(
  limits: Partial<EventLimits> = {},
  /** @internal `fastPath: false` validates with the zod schema alone (the fast path's tests compare against it). */
  internal: { fastPath?: boolean } = {},
): (input: unknown) => AuditEventInput {
  const resolved: EventLimits = { ...DEFAULT_EVENT_LIMITS, ...limits }
  const schemas = Object.keys(limits).length === 0 ? defaultSchemas : buildSchemas(resolved)
  const fastAccept =
    internal.fastPath === false ? () => undefined : createFastAccept(resolved, { action: ACTION_PATTERN, resourceType: RESOURCE_TYPE_PATTERN })
  return (input) => {
    // The common, well-formed event skips zod (a hot path); zod decides and explains everything else.
    const accepted = fastAccept(input)
    const parsed = accepted ? ({ success: true, data: accepted } as const) : schemas.input.safeParse(input)
    if (!parsed.success) {
      const details: AuditErrorDetail[] = parsed.error.issues.map((issue) => ({
        path: issue.path.join('.'),
        reason: reasonOf(issue),
        message: issue.message,
      }))
      throw new AuditKitError('INVALID_EVENT', `Invalid audit event: ${details.map((d) => `${d.path || '(event)'} ${d.message}`).join('; ')}`, { details })
    }
    const event = parsed.data
    const oversized: AuditErrorDetail[] = []
    if (event.changes !== undefined && jsonBytes(event.changes) > resolved.maxChangesBytes)
      oversized.push({ path: 'changes', reason: 'too_large', message: `changes exceed ${resolved.maxChangesBytes} bytes of JSON` })
    if (event.metadata !== undefined && jsonBytes(event.metadata) > resolved.maxMetadataBytes)
      oversized.push({ path: 'metadata', reason: 'too_large', message: `metadata exceeds ${resolved.maxMetadataBytes} bytes of JSON` })
    for (const field of ['changes', 'metadata'] as const) {
      if (event[field] !== undefined && depthOf(event[field]) > resolved.maxDepth)
        oversized.push({ path: field, reason: 'too_deep', message: `${field} is nested deeper than ${resolved.maxDepth} levels` })
    }
    if (oversized.length > 0) {
      throw new AuditKitError('PAYLOAD_TOO_LARGE', `Audit event too large: ${oversized.map((d) => d.message).join('; ')}`, { details: oversized })
    }
    return event
  }
}
