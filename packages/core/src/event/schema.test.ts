import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { AuditKitError } from '../errors.js'
import { verifyChain } from '../integrity/verify.js'
import { createAuditLogger } from '../logger/audit-logger.js'
import { createSqliteStore } from '../stores/sqlite/sqlite-store.js'
import type { AuditEventInput, JsonValue } from './schema.js'
import { createEventValidator } from './schema.js'

const base = {
  tenantId: 'acme',
  actor: { type: 'user', id: 'u1' },
  action: 'project_updated',
  resource: { type: 'project', id: 'p1' },
  outcome: 'success',
} as const satisfies AuditEventInput

const validators = { 'fast path': createEventValidator(), 'schema alone': createEventValidator({}, { fastPath: false }) }

/** What `validate(input)` throws, or fails the test when it accepts. */
function refusal(validate: (input: unknown) => unknown, input: unknown): AuditKitError {
  try {
    validate(input)
  } catch (error) {
    expect(error).toBeInstanceOf(AuditKitError)
    return error as AuditKitError
  }
  throw new Error('accepted')
}

function nested(levels: number, leaf: unknown = 1, wrap: (inner: unknown) => unknown = (inner) => ({ d: inner })): unknown {
  let value = leaf
  for (let i = 0; i < levels; i++) value = wrap(value)
  return value
}

describe.each(Object.entries(validators))('event validator (%s)', (_, validate) => {
  it('refuses values nested thousands deep with PAYLOAD_TOO_LARGE, not a stack overflow', () => {
    for (const input of [
      { ...base, changes: { after: nested(5000) } },
      { ...base, metadata: { tree: nested(5000, 1, (inner) => [inner]) } },
    ]) {
      const error = refusal(validate, input)
      expect(error.code).toBe('PAYLOAD_TOO_LARGE')
      expect(error.details).toEqual([expect.objectContaining({ reason: 'too_deep' })])
    }
  })

  it('refuses a cyclic value with PAYLOAD_TOO_LARGE', () => {
    const node: Record<string, unknown> = { name: 'a' }
    node.self = node
    const error = refusal(validate, { ...base, metadata: { node } })
    expect(error.code).toBe('PAYLOAD_TOO_LARGE')
    expect(error.details).toEqual([{ path: 'metadata', reason: 'too_deep', message: expect.any(String) }])
  })

  it('refuses a huge (sparse) array at once, without visiting every slot', () => {
    const sparse: unknown[] = []
    sparse.length = 2 ** 32 - 1
    const dense = Array.from({ length: 300_000 })
    for (const array of [sparse, dense]) {
      // Counts the slots read instead of timing the call (a time limit fails on a busy machine): the work must be
      // bounded by the byte limit (at least a byte a slot), not by the length. Past it, the read fails the call at once.
      let slotsRead = 0
      const after = new Proxy(array, {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^\d+$/.test(key) && ++slotsRead > 65_536) throw new Error(`read ${slotsRead} slots`)
          return Reflect.get(target, key, receiver) as unknown
        },
      })
      const error = refusal(validate, { ...base, changes: { after } })
      expect(slotsRead).toBeLessThanOrEqual(65_536)
      expect(error.code).toBe('PAYLOAD_TOO_LARGE')
      expect(error.details).toEqual([{ path: 'changes', reason: 'too_large', message: 'changes exceed 65536 bytes of JSON' }])
    }
  })

  it('refuses a symbol key in metadata with INVALID_EVENT naming the field', () => {
    const error = refusal(validate, { ...base, metadata: { note: 'x', [Symbol('secret')]: 'hunter2' } })
    expect(error.code).toBe('INVALID_EVENT')
    expect(error.details).toEqual([expect.objectContaining({ path: 'metadata.Symbol(secret)' })])
  })

  it('answers INVALID_EVENT when reading the input throws', () => {
    const metadata = {
      get broken(): string {
        throw new Error('lazy value failed')
      },
    }
    const error = refusal(validate, { ...base, metadata })
    expect(error.code).toBe('INVALID_EVENT')
    expect(error.message).toContain('lazy value failed')
    // Like every refused event, one detail per problem (the admin API and onError show them).
    expect(error.details).toEqual([{ path: '', reason: 'unreadable', message: expect.stringContaining('lazy value failed') as string }])
  })

  it('keeps an own "__proto__" key in metadata and changes as a key, at any depth (JSON.parse makes one from a request body)', () => {
    const metadata = JSON.parse('{"__proto__": {"isAdmin": true}, "a": 1, "list": [{"__proto__": "s"}]}') as JsonValue
    const after = JSON.parse('{"__proto__": null, "name": "x"}') as JsonValue
    const event = validate({ ...base, metadata, changes: { after } }) as AuditEventInput
    expect(JSON.stringify(event.metadata)).toBe('{"__proto__":{"isAdmin":true},"a":1,"list":[{"__proto__":"s"}]}')
    expect(JSON.stringify(event.changes)).toBe('{"after":{"__proto__":null,"name":"x"}}')
    // As a key, never as a prototype: nothing leaks into property lookups of the copy.
    expect((event.metadata as { isAdmin?: unknown }).isAdmin).toBeUndefined()
    expect(Object.getPrototypeOf(event.metadata)).toBe(Object.prototype)
  })
})

it('refuses a value that changes between the schema\'s read and the copy kept (a getter), never keeping what was not checked', () => {
  const validate = validators['schema alone']
  // How often an accepted validation reads the value: the last read is the copy kept.
  let reads = 0
  validate({ ...base, metadata: { get note(): unknown { reads++; return 'ok' } } })
  let seen = 0
  const metadata = {
    get note(): unknown {
      return ++seen < reads ? 'ok' : () => 'not JSON'
    },
  }
  const error = refusal(validate, { ...base, metadata })
  expect(error.code).toBe('INVALID_EVENT')
  expect(error.details).toEqual([expect.objectContaining({ path: 'metadata', reason: 'unreadable' })])
})

describe('event limits', () => {
  it('keeps the default for a bound given as undefined instead of lifting it', () => {
    const validate = createEventValidator({ maxMetadataBytes: undefined, maxDepth: undefined })
    expect(refusal(validate, { ...base, metadata: { blob: 'x'.repeat(100_000) } }).code).toBe('PAYLOAD_TOO_LARGE')
    expect(refusal(validate, { ...base, metadata: { tree: nested(40) } }).code).toBe('PAYLOAD_TOO_LARGE')
  })

  it('refuses a bound that is not a number (NaN from an unset environment variable) with INVALID_OPTIONS', () => {
    for (const limits of [{ maxMetadataBytes: Number(undefined) }, { maxDepth: -1 }, { maxChangesBytes: '1000' as unknown as number }]) {
      expect(() => createEventValidator(limits)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
    }
  })

  it('the early size check never refuses a value the exact check accepts (bytes and depth exactly at the bound)', () => {
    let seed = 7
    const random = (): number => {
      seed = (seed * 1664525 + 1013904223) >>> 0
      return seed / 2 ** 32
    }
    const strings = ['', 'a', 'é', '日本', '😀', '"quoted"\\', 'line\nbreak', '\u0001', '\ud800']
    const value = (depth: number): JsonValue => {
      const r = random()
      if (depth >= 5 || r < 0.35) return [1, -0.5, 1e21, true, false, null, ...strings][Math.floor(random() * 15)] ?? null
      if (r < 0.65) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1))
      const out: { [key: string]: JsonValue } = {}
      for (let i = Math.floor(random() * 4); i > 0; i--) out[strings[Math.floor(random() * strings.length)] ?? 'k'] = value(depth + 1)
      return out
    }
    const depthOf = (v: unknown): number =>
      v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0
    for (let i = 0; i < 250; i++) {
      const metadata = { v: value(0) }
      const bytes = Buffer.byteLength(JSON.stringify(metadata), 'utf8')
      const depth = depthOf(metadata)
      for (const fastPath of [true, false]) {
        expect(() => createEventValidator({ maxMetadataBytes: bytes, maxDepth: depth }, { fastPath })({ ...base, metadata })).not.toThrow()
        const tight = createEventValidator({ maxMetadataBytes: bytes - 1 }, { fastPath })
        expect(refusal(tight, { ...base, metadata }).code).toBe('PAYLOAD_TOO_LARGE')
      }
    }
  })
})

describe('through the logger', () => {
  const dir = mkdtempSync(join(tmpdir(), 'auditkit-schema-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('a deeply nested request body recorded as `after` is refused with PAYLOAD_TOO_LARGE; an undefined bound stays bounded', async () => {
    const store = createSqliteStore({ path: join(dir, 'audit.db') })
    const codes: string[] = []
    const audit = createAuditLogger({ store, limits: { maxMetadataBytes: undefined }, onError: (error) => codes.push(error.code) })
    try {
      // What `express.json()` makes of 5000 nested arrays: a 10 KB body, well under its 100 KB limit.
      const body = JSON.parse(`${'['.repeat(5000)}${']'.repeat(5000)}`) as JsonValue
      await expect(audit.record({ ...base, changes: { after: body } })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
      await expect(audit.record({ ...base, metadata: { blob: 'x'.repeat(100_000) } })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
      await audit.record(base, { delivery: 'await' })
      expect(codes).toEqual(['PAYLOAD_TOO_LARGE', 'PAYLOAD_TOO_LARGE'])
      expect((await store.chainHead('acme'))?.seq).toBe(1)
    } finally {
      await audit.close()
      await store.close()
    }
  })
  it('stores a request body\'s own "__proto__" key as written, hashed into the chain, and reads it back as a key', async () => {
    const store = createSqliteStore({ path: join(dir, 'proto.db') })
    const audit = createAuditLogger({ store, onError: () => {} })
    try {
      // What `express.json()` makes of a prototype-pollution attempt: who tried it is what a security team wants to see.
      const body = JSON.parse('{"__proto__": {"isAdmin": true}, "name": "x"}') as JsonValue
      const metadata = JSON.parse('{"__proto__": "m"}') as Record<string, JsonValue>
      const { id } = await audit.record({ ...base, changes: { after: body }, metadata }, { delivery: 'await' })
      const stored = await store.get('acme', id)
      expect(JSON.stringify(stored?.changes)).toBe('{"after":{"__proto__":{"isAdmin":true},"name":"x"}}')
      expect(JSON.stringify(stored?.metadata)).toBe('{"__proto__":"m"}')
      expect(await verifyChain({ source: store, chainId: 'acme' })).toMatchObject({ ok: true, eventsChecked: 1 })
    } finally {
      await audit.close()
      await store.close()
    }
  })

  it('tells a wrong type from a missing field in the stable reason, and says what a non-JSON value was and what is allowed', async () => {
    const store = createSqliteStore({ path: join(dir, 'reasons.db') })
    const audit = createAuditLogger({ store, onError: () => {} })
    const refused = (input: unknown): Promise<AuditKitError> =>
      audit.record(input as AuditEventInput).then(
        () => {
          throw new Error('accepted')
        },
        (error: unknown) => error as AuditKitError,
      )
    try {
      // A number where a string belongs is not a missing field: a job reading ids from a queue message hits this.
      expect((await refused({ ...base, tenantId: 42 })).details).toMatchObject([{ path: 'tenantId', reason: 'invalid_type' }])
      expect((await refused({ ...base, context: { status: '200' } })).details).toMatchObject([{ path: 'context.status', reason: 'invalid_type' }])
      expect((await refused({ ...base, metadata: [1] })).details).toMatchObject([{ path: 'metadata', reason: 'invalid_type' }])
      expect((await refused({ ...base, tenantId: undefined })).details).toMatchObject([{ path: 'tenantId', reason: 'required' }])
      // Values JSON cannot hold, passed straight to record() (the request capture converts them; a script does not).
      const secret = 'sk_live_do_not_echo'
      for (const [value, what] of [
        [new Date('2026-01-01T00:00:00Z'), 'a Date'],
        [Number.NaN, 'NaN'],
        [Number.POSITIVE_INFINITY, 'Infinity'],
        [undefined, 'undefined'],
        [10n, 'a bigint'],
        [() => secret, 'a function'],
        [new Map([[secret, secret]]), 'a Map'],
      ] as const) {
        const error = await refused({ ...base, metadata: { scheduledAt: value } })
        expect(error.code).toBe('INVALID_EVENT')
        expect(error.details).toMatchObject([{ path: 'metadata.scheduledAt', reason: 'invalid_type' }])
        expect(error.message).toContain('metadata.scheduledAt')
        expect(error.message).toContain(what)
        expect(error.message).toContain('JSON')
        expect(error.message).not.toContain(secret)
      }
      expect((await refused({ ...base, changes: { after: { at: new Date() } } })).message).toContain('toISOString()')
      // Deep inside: the path names the value itself, not the outermost object holding it.
      expect((await refused({ ...base, metadata: { job: { runs: [1, { took: Number.NaN }] } } })).details).toMatchObject([
        { path: 'metadata.job.runs.1.took', reason: 'invalid_type', message: expect.stringContaining('is NaN') },
      ])
      expect(audit.stats()).toMatchObject({ invalid: 13, accepted: 0 })
      await audit.record({ ...base, metadata: { n: -0, big: 2 ** 60 } }, { delivery: 'await' })
      expect((await store.chainHead('acme'))?.seq).toBe(1)
    } finally {
      await audit.close()
      await store.close()
    }
  })
})
