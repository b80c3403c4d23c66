import { describe, expect, it } from 'vitest'
import { createFastAccept } from './fast-accept.js'
import { DEFAULT_EVENT_LIMITS } from './limits.js'
import { ACTION_PATTERN, RESOURCE_TYPE_PATTERN, createEventValidator } from './schema.js'

const fast = createFastAccept(DEFAULT_EVENT_LIMITS, { action: ACTION_PATTERN, resourceType: RESOURCE_TYPE_PATTERN })
const validate = createEventValidator({}, { fastPath: false })

const base = {
  tenantId: 'acme',
  actor: { type: 'user', id: 'u1', name: 'Ada', email: 'ada@example.com' },
  action: 'project_updated',
  resource: { type: 'project', id: 'p1', name: 'Apollo' },
  targets: [{ type: 'workspace', id: 'acme' }],
  outcome: 'success',
  context: { ip: '127.0.0.1', userAgent: 'curl/8', method: 'PATCH', path: '/projects/p1', route: '/projects/:id', status: 200, requestId: 'r1' },
  changes: { before: { name: 'A', tags: ['x', 1, true, null] }, after: { name: 'B', nested: { deep: [{ ok: 1.5 }] } } },
  metadata: { reason: 'rename', count: 3 },
}

/** Every way we can think of to break one field (and a few harmless variations). */
function variants(): unknown[] {
  const out: unknown[] = [base, { ...base, targets: undefined, changes: undefined, metadata: undefined, context: undefined }]
  const set = (path: string[], value: unknown): unknown => {
    const copy = structuredClone(base) as Record<string, unknown>
    let node = copy
    for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>
    node[path[path.length - 1] as string] = value
    return copy
  }
  const bad: unknown[] = [undefined, null, '', 'x'.repeat(300), 'x'.repeat(3000), 42, Number.NaN, Infinity, 1.5, -1, 99, 600, true, [], {}, new Date(0), 'Not Snake', 'project', 'api_key', 'user', 'success']
  const paths = [
    ['tenantId'], ['actor'], ['actor', 'type'], ['actor', 'id'], ['actor', 'name'], ['actor', 'email'], ['actor', 'extra'],
    ['action'], ['resource'], ['resource', 'type'], ['resource', 'id'], ['resource', 'name'], ['resource', 'extra'],
    ['targets'], ['outcome'], ['context'], ['context', 'ip'], ['context', 'method'], ['context', 'status'], ['context', 'requestId'],
    ['context', 'userAgent'], ['context', 'extra'], ['changes'], ['changes', 'before'], ['changes', 'extra'], ['metadata'],
    ['metadata', 'x'], ['extra'],
  ]
  for (const path of paths) for (const value of bad) out.push(set(path, value))
  out.push({ ...base, targets: Array.from({ length: 101 }, () => ({ type: 'user' })) })
  out.push({ ...base, targets: [{ type: 'user' }, undefined] })
  out.push({ ...base, actor: Object.assign(Object.create({ inherited: 1 }) as object, base.actor) })
  out.push({ ...base, metadata: JSON.parse('{"__proto__": {"x": 1}}') as unknown })
  let deep: unknown = 1
  for (let i = 0; i < 40; i++) deep = { d: deep }
  out.push({ ...base, changes: { after: deep } })
  out.push({ ...base, action: `a_${'b'.repeat(200)}` })
  return out
}

describe('fast accept', () => {
  it('takes the common event without zod, and agrees with the schema on every variation', () => {
    expect(fast(base)).toBeDefined()
    let fastAccepted = 0
    for (const input of variants()) {
      const quick = fast(input)
      let viaSchema: unknown
      let rejected = false
      try {
        viaSchema = validate(input)
      } catch {
        rejected = true
      }
      if (quick === undefined) continue
      fastAccepted++
      // Never more lenient than the schema, and the same event (undefined members aside).
      expect(rejected, JSON.stringify(input)).toBe(false)
      expect(JSON.parse(JSON.stringify(quick))).toEqual(JSON.parse(JSON.stringify(viaSchema)))
    }
    expect(fastAccepted).toBeGreaterThan(20)
  })

  it('copies the input, so later changes by the caller do not reach the queued event', () => {
    const input = structuredClone(base)
    const event = fast(input)
    input.actor.id = 'someone-else'
    input.changes.after.name = 'changed'
    expect(event?.actor.id).toBe('u1')
    expect(event?.changes?.after).toMatchObject({ name: 'B' })
  })
})
