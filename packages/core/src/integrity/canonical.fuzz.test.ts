import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { AuditEvent, JsonValue, UnsealedEvent } from '../event/schema.js'
import { canonicalize } from './canonical.js'
import { GENESIS_HASH, computeEventHash, createSealer } from './hash.js'
import type { ChainStore } from './source.js'
import { verifyChain } from './verify.js'

/**
 * Property-based tests of canonical JSON and the hash chain: the canonical form is independent of key order, reads
 * back as the very value (so two different values never share it), matches a from-scratch JCS layout whatever the
 * key-layout cache holds; a sealed chain verifies after a store's JSON round trip and any one edit of hashed content
 * is reported as `modified` at its seq.
 */

/** Keys that collide in the layout cache's `\u0000`-joined id, integer-like keys (listed first by V8), "__proto__". */
const KEY_UNITS = ['a', 'b', 'B', '\u0000', '', '1', '10', '2', '__proto__', '\u00E9', 'e\u0301', '\uD83D\uDE00', '\uFFFF', '\uD800', ' ']
const key = fc.oneof(fc.string({ unit: fc.constantFrom(...KEY_UNITS), maxLength: 3 }), fc.string({ unit: 'binary', maxLength: 4 }))
/** -0 is left out: JCS writes it as 0, so it is the one number that does not read back as itself. */
const number = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)), fc.constantFrom(1e21, 1e-7, 5e-324, Number.MAX_VALUE, 2 ** 53))
const leaf: fc.Arbitrary<JsonValue> = fc.oneof(fc.string({ unit: 'binary', maxLength: 6 }), number, fc.boolean(), fc.constant(null))
const { json } = fc.letrec<{ json: JsonValue }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('json'), { maxLength: 4 }),
    fc.array(fc.tuple(key, tie('json')), { maxLength: 5 }).map((entries) => Object.fromEntries(entries) as JsonValue),
  ),
}))

/** The same value with every object's keys inserted in another order (deterministic for a given seed). */
function reordered(value: JsonValue, seed: number): JsonValue {
  if (Array.isArray(value)) return value.map((item, i) => reordered(item, seed + i))
  if (value === null || typeof value !== 'object') return value
  let state = seed >>> 0 || 1
  const entries = Object.entries(value)
  for (let i = entries.length - 1; i > 0; i--) {
    state = (state * 1664525 + 1013904223) >>> 0
    const j = state % (i + 1)
    ;[entries[i], entries[j]] = [entries[j] as [string, JsonValue], entries[i] as [string, JsonValue]]
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, reordered(v, state + k.length)]))
}

/** RFC 8785 from scratch, without any cache: keys sorted by UTF-16 code units, ECMAScript serialisation. */
function reference(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort((a, b) => {
      for (let i = 0; i < Math.min(a.length, b.length); i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return a.charCodeAt(i) - b.charCodeAt(i)
      return a.length - b.length
    })
    return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(value[k] as JsonValue)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

describe('canonicalize (property-based)', () => {
  it('reads back as the very value it was made from, so different values never share a canonical form', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(JSON.parse(canonicalize(value))).toStrictEqual(value)
      }),
      { numRuns: 600 },
    )
  })

  it('does not depend on the order keys were inserted in', () => {
    fc.assert(
      fc.property(json, fc.integer(), (value, seed) => {
        expect(canonicalize(reordered(value, seed))).toBe(canonicalize(value))
      }),
      { numRuns: 480 },
    )
  })

  it('matches a from-scratch JCS layout, also for objects whose key lists collide in the layout cache', () => {
    // Several values per run, so that one run's cached layouts meet the next value's key lists.
    fc.assert(
      fc.property(fc.array(json, { minLength: 2, maxLength: 6 }), (values) => {
        for (const value of values) expect(canonicalize(value)).toBe(reference(value))
      }),
      { numRuns: 300 },
    )
  })

  it('two values from a small domain have the same canonical form exactly when they are deep-equal', () => {
    const small: fc.Arbitrary<JsonValue> = fc.letrec<{ v: JsonValue }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.constantFrom<JsonValue>(0, 1, '0', '1', '', null, true, false, '\u0000'),
        fc.array(tie('v'), { maxLength: 2 }),
        fc.array(fc.tuple(fc.constantFrom('a', 'b', '\u0000', 'a\u0000b'), tie('v')), { maxLength: 2 }).map((e) => Object.fromEntries(e) as JsonValue),
      ),
    })).v
    fc.assert(
      fc.property(small, small, (a, b) => {
        const same = JSON.stringify(JSON.parse(reference(a))) === JSON.stringify(JSON.parse(reference(b)))
        expect(canonicalize(a) === canonicalize(b)).toBe(same)
      }),
      { numRuns: 900 },
    )
  })
})

const ACTOR_TYPES = ['user', 'api_key', 'system'] as const
const jsonObject = fc.array(fc.tuple(key, json), { maxLength: 4 }).map((entries) => Object.fromEntries(entries) as { [key: string]: JsonValue })
const unsealedEvent = (i: number): fc.Arbitrary<UnsealedEvent> =>
  fc
    .record({
      actor: fc.record({ type: fc.constantFrom(...ACTOR_TYPES), id: fc.string({ minLength: 1, maxLength: 8 }) }),
      action: fc.constantFrom('project_created', 'member_role_updated'),
      resource: fc.record({ type: fc.constantFrom('project', 'api_key'), id: fc.string({ minLength: 1, maxLength: 8 }) }, { requiredKeys: ['type'] }),
      outcome: fc.constantFrom('success', 'failure' as const),
      metadata: jsonObject,
      changes: fc.record({ before: json, after: json }, { requiredKeys: [] }),
    })
    .map((fields) => ({
      id: `0190f0b4-0000-7000-8000-${String(i).padStart(12, '0')}`,
      occurredAt: new Date(Date.UTC(2026, 0, 1) + i).toISOString(),
      tenantId: 't1',
      chainId: 't1',
      ...fields,
    }))
const chain = fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => unsealedEvent(i + 1))))

function seal(events: readonly UnsealedEvent[], hmacKey?: string): AuditEvent[] {
  const sealer = createSealer(hmacKey)
  const out: AuditEvent[] = []
  for (const event of events) {
    const last = out[out.length - 1]
    out.push(sealer(event, last ? { seq: last.seq, hash: last.hash } : null))
  }
  return out
}

/** A store holding these events as a database would: each a JSON round trip of what was written. */
function storeOf(events: readonly AuditEvent[]): ChainStore {
  const stored = events.map((event) => JSON.parse(JSON.stringify(event)) as AuditEvent)
  return {
    listChains: () => Promise.resolve(['t1']),
    listCheckpoints: () => Promise.resolve([]),
    readChain: (_chainId, afterSeq, limit) => Promise.resolve(stored.filter((e) => e.seq > afterSeq).slice(0, limit)),
  }
}

/** One edit of hashed content that changes its canonical form: a top-level field, or a leaf deep in metadata. */
function edited(event: AuditEvent, choice: number): AuditEvent {
  const copy = JSON.parse(JSON.stringify(event)) as AuditEvent
  switch (choice % 5) {
    case 0:
      copy.actor = { ...copy.actor, id: `${copy.actor.id}x` }
      break
    case 1:
      copy.outcome = copy.outcome === 'success' ? 'failure' : 'success'
      break
    case 2:
      copy.metadata = { ...copy.metadata, injected: true }
      break
    case 3:
      copy.occurredAt = new Date(Date.parse(copy.occurredAt) + 1).toISOString()
      break
    default:
      copy.changes = { ...copy.changes, after: [copy.changes?.after ?? null] }
  }
  return copy
}

describe('hash chain (property-based)', () => {
  it('every sealed event re-hashes to its hash after a JSON round trip, links to the one before, with or without an HMAC key', () => {
    fc.assert(
      fc.property(chain, fc.option(fc.string({ minLength: 1, maxLength: 8 }), { nil: undefined }), (events, hmacKey) => {
        const sealed = seal(events, hmacKey)
        sealed.forEach((event, i) => {
          const stored = JSON.parse(JSON.stringify(event)) as AuditEvent
          expect(stored.seq).toBe(i + 1)
          expect(stored.prevHash).toBe(i === 0 ? GENESIS_HASH : sealed[i - 1]?.hash)
          expect(computeEventHash(stored, hmacKey)).toBe(stored.hash)
        })
        // No two events of a chain share a hash (they differ in seq at least).
        expect(new Set(sealed.map((e) => e.hash)).size).toBe(sealed.length)
      }),
      { numRuns: 180 },
    )
  })

  it('verifyChain accepts the chain as written and reports any one edit of hashed content as `modified` at its seq', async () => {
    await fc.assert(
      fc.asyncProperty(chain, fc.nat(), fc.nat(), async (events, which, choice) => {
        const sealed = seal(events)
        const intact = await verifyChain({ source: storeOf(sealed), chainId: 't1' })
        expect(intact.ok).toBe(true)
        expect(intact.eventsChecked).toBe(sealed.length)
        const at = which % sealed.length
        const tampered = sealed.map((event, i) => (i === at ? edited(event, choice) : event))
        const result = await verifyChain({ source: storeOf(tampered), chainId: 't1' })
        expect(result.ok).toBe(false)
        expect(result.firstBreak).toMatchObject({ reason: 'modified', seq: at + 1 })
      }),
      { numRuns: 90 },
    )
  })
})
