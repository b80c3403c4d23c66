import { inspect } from 'node:util'
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

  it('agrees with the schema on thousands of generated events with odd members at any depth', () => {
    let seed = 42
    const random = (): number => {
      seed = (seed * 1664525 + 1013904223) >>> 0
      return seed / 2 ** 32
    }
    const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
    const odd = (): unknown =>
      pick<() => unknown>([
        () => ({ a: 1, [Symbol('s')]: 2 }),
        () => Object.assign(Object.create(null) as object, { x: 'y' }),
        () => Object.defineProperty({ a: 1 }, 'hidden', { value: 2, enumerable: false }),
        () => Object.assign([1], { length: 3 }),
        () => new Date(0),
        () => new String('x'),
        () => -0,
        () => 'é'.repeat(Math.floor(random() * 3000)),
        () => JSON.parse('{"__proto__": {"p": 1}, "q": 2}') as unknown,
        () => ({ constructor: 'x', toString: {} }),
        () => Object.freeze({ f: [1, 2] }),
        () => ({ get g() { return 1 } }),
        () => [undefined],
        () => ({ toJSON: 'x' }),
        () => Object.assign(Object.create({ inherited: 1 }) as object, { own: 1 }),
        () => Number.MAX_SAFE_INTEGER + 2,
      ])()
    const json = (depth: number): unknown => {
      const r = random()
      if (r < 0.1) return odd()
      if (depth > 3 || r < 0.4) return pick(['s', 1, 1.5, true, null, '', 'x'.repeat(300)])
      if (r < 0.7) {
        const out: Record<string, unknown> = {}
        for (let n = Math.floor(random() * 4); n > 0; n--) out[pick(['a', 'b', 'password', 'c d', '1', '__proto__', 'toString'])] = json(depth + 1)
        return out
      }
      return Array.from({ length: Math.floor(random() * 4) }, () => json(depth + 1))
    }
    let fastAccepted = 0
    for (let n = 0; n < 3000; n++) {
      const input = structuredClone(base) as Record<string, unknown>
      const where = pick(['changes', 'metadata', 'actor', 'context', 'resource', 'targets', 'event'])
      if (where === 'changes') input.changes = { [pick(['before', 'after'])]: json(0) }
      else if (where === 'metadata') input.metadata = random() < 0.5 ? json(0) : { k: json(0) }
      else if (where === 'targets') input.targets = random() < 0.5 ? [odd()] : [{ type: 'user', id: odd() }]
      else if (where === 'event') input[pick(['tenantId', 'action', 'outcome', 'extra'])] = random() < 0.5 ? odd() : json(2)
      else (input[where] as Record<string, unknown>)[pick(['type', 'id', 'name', 'status', 'ip', 'extra'])] = random() < 0.5 ? odd() : json(2)
      const quick = fast(input)
      if (quick === undefined) continue
      fastAccepted++
      let viaSchema: unknown
      expect(() => (viaSchema = validate(input)), inspect(input, { depth: null })).not.toThrow()
      expect(JSON.parse(JSON.stringify(quick))).toEqual(JSON.parse(JSON.stringify(viaSchema)))
    }
    expect(fastAccepted).toBeGreaterThan(500)
  })

  // Stricter than the schema is safe (zod decides), but the fast path is for the common case: it must take every bound.
  it('takes values at every bound the schema allows, and leaves those past it to the schema', () => {
    const agree = (input: unknown, accepted: boolean): void => {
      const label = inspect(input, { depth: 3 }).slice(0, 200)
      expect(fast(input) !== undefined, label).toBe(accepted)
      expect(() => validate(input), label).toSatisfy((run: () => unknown) => {
        try {
          run()
          return true
        } catch {
          return !accepted
        }
      })
    }
    const { maxIdLength, maxTextLength, maxTargets, maxDepth } = DEFAULT_EVENT_LIMITS
    const minimal = { tenantId: 'a', actor: { type: 'system', id: 'x' }, action: 'a_b', resource: { type: 'r' }, outcome: 'failure' }
    agree(minimal, true)
    agree({ ...minimal, tenantId: 'x'.repeat(maxIdLength) }, true)
    agree({ ...minimal, tenantId: 'x'.repeat(maxIdLength + 1) }, false)
    agree({ ...minimal, actor: { type: 'user', id: 'x'.repeat(maxIdLength), name: 'n'.repeat(maxTextLength), email: '' } }, true)
    agree({ ...minimal, actor: { type: 'user', id: 'x', name: 'n'.repeat(maxTextLength + 1) } }, false)
    agree({ ...minimal, action: `a_${'b'.repeat(126)}` }, true)
    agree({ ...minimal, action: `a_${'b'.repeat(127)}` }, false)
    agree({ ...minimal, targets: Array.from({ length: maxTargets }, () => ({ type: 'user' })) }, true)
    agree({ ...minimal, targets: [] }, true)
    const context = { ip: 'i'.repeat(64), method: 'M'.repeat(16), status: 100, requestId: 'r'.repeat(maxIdLength), path: 'p'.repeat(maxTextLength) }
    agree({ ...minimal, context }, true)
    agree({ ...minimal, context: { status: 599 } }, true)
    agree({ ...minimal, context: {} }, true)
    for (const bad of [{ ip: 'i'.repeat(65) }, { method: 'M'.repeat(17) }, { status: 99 }, { status: 600 }, { requestId: '' }]) agree({ ...minimal, context: bad }, false)
    agree({ ...minimal, changes: {} }, true)
    agree({ ...minimal, metadata: {} }, true)
    // Depth: metadata's members count from 1, changes' values from 2; arrays nest like objects.
    const nest = (depth: number, wrap: (inner: unknown) => unknown): unknown => {
      let value: unknown = 1
      for (let i = 0; i < depth; i++) value = wrap(value)
      return value
    }
    for (const wrap of [(inner: unknown) => ({ d: inner }), (inner: unknown) => [inner]]) {
      agree({ ...minimal, metadata: { m: nest(maxDepth - 1, wrap) } }, true)
      agree({ ...minimal, metadata: { m: nest(maxDepth, wrap) } }, false)
      agree({ ...minimal, changes: { after: nest(maxDepth - 1, wrap) } }, true)
      agree({ ...minimal, changes: { after: nest(maxDepth, wrap) } }, false)
      agree({ ...minimal, changes: { before: { deep: nest(40, wrap) } } }, false)
    }
    // An object without a prototype is as plain as one with Object.prototype.
    agree({ ...minimal, metadata: Object.assign(Object.create(null) as object, { k: 'v' }) }, true)
    agree({ ...minimal, actor: Object.assign(Object.create(null) as object, { type: 'user', id: 'u' }) }, true)
  })

  it('copies arrays and objects exactly, leaving out undefined members and keeping an own "__proto__" key as a key', () => {
    const event = fast({ ...base, actor: { type: 'user', id: 'u1', name: undefined }, context: { ip: '::1', status: undefined }, changes: { before: undefined, after: [1, [2, 'x'], { a: null }] } })
    expect(event?.actor).toStrictEqual({ type: 'user', id: 'u1' })
    expect(event?.context).toStrictEqual({ ip: '::1' })
    expect(event?.changes).toStrictEqual({ after: [1, [2, 'x'], { a: null }] })
    const metadata = fast({ ...base, metadata: JSON.parse('{"__proto__": {"x": 1}, "y": 2}') as unknown })?.metadata as Record<string, unknown>
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype)
    expect(Object.keys(metadata)).toEqual(['__proto__', 'y'])
    expect(Object.getOwnPropertyDescriptor(metadata, '__proto__')).toEqual({ value: { x: 1 }, enumerable: true, writable: true, configurable: true })
    expect((metadata as { x?: unknown }).x).toBeUndefined()
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
