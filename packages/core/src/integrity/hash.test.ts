import { createHash } from 'node:crypto'
import { fixtureSealer } from '@auditkit/test-utils'
import { describe, expect, it } from 'vitest'
import { EVENT_FIELDS, type AuditEvent } from '../event/schema.js'
import { canonicalize } from './canonical.js'
import { GENESIS_HASH, computeEventHash, createSealer, hashedContent, sealerKeyOf, type Sealer } from './hash.js'

const unsealed = {
  id: '0190f0b4-0000-7000-8000-000000000001',
  occurredAt: '2026-01-01T00:00:00.000Z',
  tenantId: 't1',
  chainId: 't1',
  actor: { type: 'user' as const, id: 'u1', name: 'Zoë' },
  action: 'project_created',
  resource: { type: 'project', id: 'p1' },
  outcome: 'success' as const,
  metadata: { b: 1e21, a: -0, é: 0.1 },
}

// Expected digests computed outside this code: `printf '%s' "$CANONICAL" | sha256sum` and `openssl dgst -sha256 -hmac`.
const CANONICAL =
  '{"action":"project_created","actor":{"id":"u1","name":"Zoë","type":"user"},"chainId":"t1",' +
  '"id":"0190f0b4-0000-7000-8000-000000000001","metadata":{"a":0,"b":1e+21,"é":0.1},' +
  `"occurredAt":"2026-01-01T00:00:00.000Z","outcome":"success","prevHash":"${GENESIS_HASH}",` +
  '"resource":{"id":"p1","type":"project"},"seq":1,"tenantId":"t1"}'
const SHA256 = '19bb1b73ffbd549305ef0a5a1165d47820d181f78972fc1d8d6b59ef141907d7'
const HMAC_SHA256 = 'e8cc5b1544ace31181a96c306130264006b03aac2230602fab54926eab0b78c0'

describe('event hash', () => {
  it('is SHA-256 over the JCS form of the content fields, chainId, seq and prevHash', () => {
    const sealed = createSealer()(unsealed, null)
    expect(sealed).toMatchObject({ seq: 1, prevHash: GENESIS_HASH, hash: SHA256 })
    expect(canonicalize(hashedContent(sealed))).toBe(CANONICAL)
  })

  it('is HMAC-SHA-256 with a key', () => {
    expect(createSealer('test-hmac-key')(unsealed, null).hash).toBe(HMAC_SHA256)
    expect(computeEventHash({ ...unsealed, seq: 1, prevHash: GENESIS_HASH }, Buffer.from('test-hmac-key'))).toBe(HMAC_SHA256)
  })

  it('remembers the HMAC key of each sealer it made, so that another thread can remake it, and knows no other sealer', () => {
    expect(sealerKeyOf(createSealer('test-hmac-key'))).toEqual({ hmacKey: 'test-hmac-key' })
    expect(sealerKeyOf(createSealer())).toEqual({ hmacKey: undefined })
    const foreign: Sealer = (event, head) => createSealer()(event, head)
    expect(sealerKeyOf(foreign)).toBeNull()
  })

  it('refuses a head whose seq is not a safe integer (a driver returning a 64-bit column as a string)', () => {
    const good = createSealer()(unsealed, null)
    for (const seq of ['1000', 1000n, 1.5, Number.NaN, 2 ** 53]) {
      const head = { seq: seq as number, hash: good.hash }
      expect(() => createSealer()(unsealed, head)).toThrow(expect.objectContaining({ code: 'INTEGRITY_ERROR' }))
      expect(() => fixtureSealer([{ ...good, seq: 1001 }])(unsealed, head)).toThrow(expect.objectContaining({ code: 'INTEGRITY_ERROR' }))
    }
    expect(createSealer()(unsealed, { seq: 1000, hash: good.hash }).seq).toBe(1001)
  })

  it('links each event to the previous hash and changes with every covered field', () => {
    const seal = createSealer()
    const first = seal(unsealed, null)
    const second = seal({ ...unsealed, id: '0190f0b4-0000-7000-8000-000000000002' }, first)
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash })
    const variants: Omit<AuditEvent, 'hash'>[] = [
      { ...second, seq: 3 },
      { ...second, prevHash: GENESIS_HASH },
      { ...second, chainId: 't2' },
      { ...second, outcome: 'failure' },
      { ...second, metadata: { ...unsealed.metadata, a: 1 } },
      { ...second, context: { ip: '10.0.0.1' } },
    ]
    for (const variant of variants) expect(computeEventHash(variant)).not.toBe(second.hash)
    // The stored hash itself and unknown extra fields are not covered.
    expect(computeEventHash({ ...second, hash: 'x', extra: 1 } as Omit<AuditEvent, 'hash'>)).toBe(second.hash)
  })

  it('covers every stored field but the hash itself: changing any of them, nested ones included, changes the hash', () => {
    const full: Omit<AuditEvent, 'hash'> = {
      ...unsealed,
      seq: 2,
      prevHash: 'c'.repeat(64),
      targets: [{ type: 'user', id: 'u2' }],
      context: { ip: '203.0.113.9', method: 'PATCH', path: '/p/1', status: 200 },
      changes: { before: { role: 'member' }, after: { role: 'owner' } },
    }
    const changed: { [K in Exclude<(typeof EVENT_FIELDS)[number], 'hash'>]: Omit<AuditEvent, 'hash'>[K] } = {
      id: '0190f0b4-0000-7000-8000-000000000009',
      occurredAt: '2026-01-01T00:00:00.001Z',
      tenantId: 't2',
      actor: { ...full.actor, id: 'u9' },
      action: 'project_deleted',
      resource: { type: 'project', id: 'p9' },
      targets: [{ type: 'user', id: 'u3' }],
      outcome: 'failure',
      context: { ...full.context, status: 403 },
      changes: { before: { role: 'member' }, after: { role: 'admin' } },
      metadata: { ...unsealed.metadata, b: 2 },
      chainId: 't2',
      seq: 3,
      prevHash: 'd'.repeat(64),
    }
    // A field added to events later must be listed above (and hashed) too.
    expect(Object.keys(changed).sort()).toEqual(EVENT_FIELDS.filter((field) => field !== 'hash').sort())
    const original = computeEventHash(full)
    for (const [field, value] of Object.entries(changed)) expect(computeEventHash({ ...full, [field]: value }), field).not.toBe(original)
  })

  it('equals SHA-256 over canonicalize(hashedContent(event)) for events of every shape', () => {
    const shapes: Omit<AuditEvent, 'hash'>[] = [
      { ...unsealed, seq: 4, prevHash: 'a'.repeat(64) },
      {
        ...unsealed,
        seq: 9,
        prevHash: 'b'.repeat(64),
        targets: [{ type: 'user', id: 'u2', name: 'Bob' }],
        context: { ip: '203.0.113.9', userAgent: 'curl/8', method: 'PATCH', path: '/p/1', route: '/p/:id', status: 200, requestId: 'r1' },
        changes: { before: { name: 'old', nested: { z: 1, a: [1, { y: 2, b: 3 }] } }, after: { name: 'new' } },
        metadata: undefined,
      },
      { ...unsealed, seq: 1, prevHash: GENESIS_HASH, actor: { type: 'system', id: 'cron' }, resource: { type: 'job' }, outcome: 'failure' },
    ]
    for (const event of shapes) {
      const expected = createHash('sha256').update(canonicalize(hashedContent(event))).digest('hex')
      expect(computeEventHash(event)).toBe(expected)
      expect(createSealer()({ ...event }, event.seq === 1 ? null : { seq: event.seq - 1, hash: event.prevHash }).hash).toBe(expected)
    }
  })

  it('equals the digest a Python JCS + hashlib/hmac recomputation gives for an event with edge-case metadata', () => {
    // The expected digests come from an independent JCS implementation in Python over the same event (json.loads of
    // this metadata, ECMAScript number formatting, keys sorted by UTF-16BE bytes) and hashlib / hmac: what an auditor does.
    const metadata = JSON.parse(String.raw`{"2":1,"10":2,"\ue000":"\u001f/\u2028\u00e9","\ud83d\ude00":[1e21,1e-7,-0.0,5e-324,9007199254740993,0.1]}`)
    const event = { ...unsealed, context: { status: 200, path: '/p/1' }, metadata }
    expect(createSealer()(event, null).hash).toBe('ae93081c32050254f29bdf6aae4e7311b3c3fa1f9a87702820dc09798c8903c9')
    expect(createSealer('test-hmac-key')(event, null).hash).toBe('4eec824814740f3c36b3c16770eeeb2127300b48a257edc30b8128cf258691fc')
    // The same after the JSON round trip every store makes.
    const stored = JSON.parse(JSON.stringify(createSealer()(event, null))) as AuditEvent
    expect(computeEventHash(stored)).toBe('ae93081c32050254f29bdf6aae4e7311b3c3fa1f9a87702820dc09798c8903c9')
  })
})
