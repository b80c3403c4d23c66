import type { EventLimits } from './limits.js'
import type { AuditEventInput, JsonValue } from './schema.js'

/**
 * A hand-written check of the common case, run before the zod schema on the hot path (every request of a busy API
 * records an event). It answers a copy of the input only when the input certainly satisfies the schema; anything
 * unusual (unknown keys, odd prototypes, wrong types, bounds, deep values) answers `undefined`, and the zod schema
 * then decides and explains. It is never more lenient than the schema: `fast-accept.test.ts` checks both agree.
 */

const ACTOR_TYPES: ReadonlySet<unknown> = new Set(['user', 'api_key', 'system'])
const OUTCOMES: ReadonlySet<unknown> = new Set(['success', 'failure'])
const EVENT_KEYS: ReadonlySet<string> = new Set(['tenantId', 'actor', 'action', 'resource', 'targets', 'outcome', 'context', 'changes', 'metadata'])
const ACTOR_KEYS: ReadonlySet<string> = new Set(['type', 'id', 'name', 'email'])
const REF_KEYS: ReadonlySet<string> = new Set(['type', 'id', 'name'])
const CONTEXT_KEYS: ReadonlySet<string> = new Set(['ip', 'userAgent', 'method', 'path', 'route', 'status', 'requestId'])
const CHANGES_KEYS: ReadonlySet<string> = new Set(['before', 'after'])

type Plain = Record<string, unknown>

function plain(value: unknown, keys: ReadonlySet<string> | null): value is Plain {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return false
  if (keys) for (const key in value) if (!keys.has(key)) return false
  return true
}

export function createFastAccept(
  limits: EventLimits,
  patterns: { action: RegExp; resourceType: RegExp },
): (input: unknown) => AuditEventInput | undefined {
  const id = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= limits.maxIdLength
  const text = (v: unknown): v is string => typeof v === 'string' && v.length <= limits.maxTextLength
  const optional = (v: unknown, check: (v: unknown) => boolean): boolean => v === undefined || check(v)

  const ref = (v: unknown): Plain | undefined => {
    if (!plain(v, REF_KEYS)) return undefined
    if (typeof v.type !== 'string' || !patterns.resourceType.test(v.type) || !optional(v.id, id) || !optional(v.name, text)) return undefined
    return copyDefined(v)
  }

  // `depth` is the level of `v` as the schema's depth check counts it (the event's `metadata` or `changes` is level 1).
  const json = (v: unknown, depth: number): JsonValue | undefined => copyJsonValue(v, depth, limits.maxDepth)

  return (input) => {
    if (!plain(input, EVENT_KEYS)) return undefined
    const { actor, context, targets, changes, metadata } = input
    if (!id(input.tenantId) || !OUTCOMES.has(input.outcome)) return undefined
    if (typeof input.action !== 'string' || input.action.length > 128 || !patterns.action.test(input.action)) return undefined
    if (!plain(actor, ACTOR_KEYS) || !ACTOR_TYPES.has(actor.type) || !id(actor.id) || !optional(actor.name, text) || !optional(actor.email, text))
      return undefined
    const resource = ref(input.resource)
    if (!resource) return undefined
    const event: Plain = { tenantId: input.tenantId, actor: copyDefined(actor), action: input.action, resource, outcome: input.outcome }

    if (targets !== undefined) {
      if (!Array.isArray(targets) || targets.length > limits.maxTargets) return undefined
      const copies: Plain[] = []
      for (const target of targets as unknown[]) {
        const copy = ref(target)
        if (!copy) return undefined
        copies.push(copy)
      }
      event.targets = copies
    }
    if (context !== undefined) {
      if (!plain(context, CONTEXT_KEYS)) return undefined
      const { ip, userAgent, method, path, route, status, requestId } = context
      if (!optional(ip, (v) => typeof v === 'string' && v.length <= 64) || !optional(method, (v) => typeof v === 'string' && v.length <= 16))
        return undefined
      if (!optional(userAgent, text) || !optional(path, text) || !optional(route, text) || !optional(requestId, id)) return undefined
      if (!optional(status, (v) => Number.isSafeInteger(v) && (v as number) >= 100 && (v as number) <= 599)) return undefined
      event.context = copyDefined(context)
    }
    if (changes !== undefined) {
      if (!plain(changes, CHANGES_KEYS)) return undefined
      const copy: Plain = {}
      for (const key of ['before', 'after'] as const) {
        if (changes[key] === undefined) continue
        const value = json(changes[key], 2)
        if (value === undefined) return undefined
        copy[key] = value
      }
      event.changes = copy
    }
    if (metadata !== undefined) {
      if (!plain(metadata, null)) return undefined
      const copy = json(metadata, 1)
      if (copy === undefined) return undefined
      event.metadata = copy
    }
    return event as unknown as AuditEventInput
  }
}

/**
 * Copies a JSON value while checking it; undefined when it is not plain JSON or nests deeper than `maxDepth` (counted
 * from `depth`). An own `__proto__` key (JSON.parse makes one from a request body) stays a key: assignment would set
 * the copy's prototype instead, and the key would be gone from the event.
 */
export function copyJsonValue(v: unknown, depth: number, maxDepth: number): JsonValue | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined
  if (depth > maxDepth) return undefined
  if (Array.isArray(v)) {
    const out: JsonValue[] = []
    for (let i = 0; i < v.length; i++) {
      const item = copyJsonValue(v[i], depth + 1, maxDepth)
      if (item === undefined) return undefined
      out.push(item)
    }
    return out
  }
  // for...in skips symbol keys, which the schema's records refuse: leave such objects to zod.
  if (!plain(v, null) || Object.getOwnPropertySymbols(v).length > 0) return undefined
  const out: { [key: string]: JsonValue } = {}
  for (const key in v) {
    const item = copyJsonValue(v[key], depth + 1, maxDepth)
    if (item === undefined) return undefined
    if (key === '__proto__') Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true })
    else out[key] = item
  }
  return out
}

function copyDefined(value: Plain): Plain {
  const out: Plain = {}
  for (const key in value) if (value[key] !== undefined) out[key] = value[key]
  return out
}
