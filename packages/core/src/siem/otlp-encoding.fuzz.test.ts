import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeExportLogsRequest, type OtlpValue } from '@auditkit/test-utils'
import type { AuditEvent, JsonObject, JsonValue, ResourceRef } from '../event/schema.js'
import type { SignedCheckpoint } from '../store/types.js'
import {
  CHECKPOINT_ACTION,
  checkpointToLogRecord,
  encodeExportLogsRequest,
  eventToLogRecord,
  type AttributeValue,
  type OtlpLogRecord,
} from './otlp-encoding.js'

/**
 * Property-based round trip of the hand-written OTLP encoder: arbitrary events and checkpoints (any unicode, nested
 * JSON, optional fields absent), encoded, then decoded by the test receiver's decoder (protobufjs over the official
 * opentelemetry-proto files), give back every attribute, the timestamps to the nanosecond, severity and body as
 * docs/siem.md describes them.
 *
 * What counts as "exactly": protobuf `string` fields hold UTF-8, which cannot carry a lone UTF-16 surrogate. The
 * encoder writes one as U+FFFD (Buffer's UTF-8), as the SQLite and MongoDB stores keep texts (`sameStoredText`); a
 * string attribute must therefore decode to the UTF-8 round trip of the stored text, byte for byte, and never to an
 * invalid UTF-8 sequence (a Go collector refuses the whole request for one). `audit.changes` and `audit.metadata` are
 * JSON text: `JSON.stringify` escapes a lone surrogate as `\udxxx`, so they come back exactly, lone surrogates included.
 */

/** A text as any UTF-8 holder keeps it: a lone surrogate becomes U+FFFD, everything else is unchanged. */
function asUtf8(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8')
}

const TRICKY = [
  'a', 'Z', '0', ' ', '_', ':', '"', '\\', '\0', '\t', '\r', '\n', '\r\n', '\u007F', '\u0085', '\u00E9', '\u00FF', '\u0100',
  '\u07FF', '\u0800', '\u2028', '\u202E', '\u3042', '\uFEFF', '\uFFFD', '\uFFFF', '\uD83D\uDE00', '\uDBFF\uDFFF',
  '\uD800', '\uDBFF', '\uDC00', '\uDFFF',
]
/** Short tricky strings, any code point, and strings past the encoder's 128-unit ASCII fast path. */
const text = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom(...TRICKY), maxLength: 10 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('x', '\u00E9', '\uD800'), fc.integer({ min: 120, max: 20_000 })).map(([unit, n]) => 'a'.repeat(n) + unit) },
)
const nonEmptyText = text.filter((value) => value.length > 0)
const optionalText = fc.option(text, { nil: undefined })

const json: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(text, tie('value'), { maxKeys: 4 }),
  ),
})).value
const jsonObject: fc.Arbitrary<JsonObject> = fc.dictionary(text, json, { maxKeys: 5 })

const hex64 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 })
/** Any instant OTLP's fixed64 nanoseconds can hold from the epoch (up to 2554); occurredAt comes from the server clock. */
const isoTime = fc.date({ min: new Date(0), max: new Date('2500-01-01T00:00:00.000Z'), noInvalidDate: true }).map((date) => date.toISOString())
const snake = fc.stringMatching(/^[a-z][a-z0-9]{0,6}(_[a-z0-9]{1,6}){1,3}$/)
const resourceType = fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/)

const resourceRef: fc.Arbitrary<ResourceRef> = fc.record(
  { type: resourceType, id: nonEmptyText, name: text },
  { requiredKeys: ['type'] },
)

const event: fc.Arbitrary<AuditEvent> = fc
  .record(
    {
      id: nonEmptyText,
      occurredAt: isoTime,
      tenantId: nonEmptyText,
      actor: fc.record({ type: fc.constantFrom('user', 'api_key', 'system' as const), id: nonEmptyText, name: optionalText, email: optionalText }),
      action: snake,
      resource: resourceRef,
      targets: fc.option(fc.array(resourceRef, { maxLength: 3 }), { nil: undefined }),
      outcome: fc.constantFrom('success', 'failure' as const),
      context: fc.option(
        fc.record(
          { ip: text, userAgent: text, method: text, path: text, route: text, status: fc.integer({ min: 100, max: 599 }), requestId: nonEmptyText },
          { requiredKeys: [] },
        ),
        { nil: undefined },
      ),
      changes: fc.option(fc.record({ before: json, after: json }, { requiredKeys: [] }), { nil: undefined }),
      metadata: fc.option(jsonObject, { nil: undefined }),
      seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      prevHash: hex64,
      hash: hex64,
    },
    { requiredKeys: ['id', 'occurredAt', 'tenantId', 'actor', 'action', 'resource', 'outcome', 'seq', 'prevHash', 'hash'] },
  )
  .map((fields) => {
    // Optional fields absent, not `undefined`: as a stored event read back from JSON has them.
    const clean = JSON.parse(JSON.stringify({ ...fields, chainId: fields.tenantId })) as AuditEvent
    return clean
  })

const checkpoint: fc.Arbitrary<SignedCheckpoint> = fc.record({
  chainId: nonEmptyText,
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  hash: hex64,
  createdAt: isoTime,
  prevSignature: fc.oneof(fc.constant(''), fc.base64String({ minLength: 4, maxLength: 88 })),
  signature: fc.base64String({ minLength: 4, maxLength: 88 }),
  keyId: nonEmptyText,
})

/** The attributes docs/siem.md lists for an event, written from the docs, not from the encoder. */
function documentedEventAttributes(e: AuditEvent): Record<string, OtlpValue> {
  const out: Record<string, OtlpValue> = {}
  const put = (key: string, value: OtlpValue | undefined): void => {
    if (value === undefined || value === '') return // "Absent values, and empty strings, are left out."
    out[key] = typeof value === 'string' ? asUtf8(value) : value
  }
  put('audit.id', e.id)
  put('audit.action', e.action)
  put('audit.occurred_at', e.occurredAt)
  put('audit.tenant.id', e.tenantId)
  put('audit.outcome', e.outcome)
  put('audit.actor.type', e.actor.type)
  put('audit.actor.id', e.actor.id)
  put('audit.actor.name', e.actor.name)
  put('audit.actor.email', e.actor.email)
  put('audit.resource.type', e.resource.type)
  put('audit.resource.id', e.resource.id)
  put('audit.resource.name', e.resource.name)
  if (e.targets && e.targets.length > 0) {
    out['audit.targets'] = e.targets.map((target) => {
      const map: Record<string, OtlpValue> = { type: asUtf8(target.type) }
      if (target.id) map.id = asUtf8(target.id)
      if (target.name) map.name = asUtf8(target.name)
      return map
    })
  }
  put('audit.request.id', e.context?.requestId)
  // JSON text: JSON.stringify escapes lone surrogates, so the text is exact (asUtf8 is the identity on it).
  put('audit.changes', e.changes === undefined ? undefined : JSON.stringify(e.changes))
  put('audit.metadata', e.metadata === undefined ? undefined : JSON.stringify(e.metadata))
  put('audit.chain.id', e.chainId)
  put('audit.seq', e.seq)
  put('audit.prev_hash', e.prevHash)
  put('audit.hash', e.hash)
  if (e.actor.type === 'user') put('user.id', e.actor.id)
  put('client.address', e.context?.ip)
  put('user_agent.original', e.context?.userAgent)
  put('http.request.method', e.context?.method)
  put('http.route', e.context?.route)
  put('url.path', e.context?.path)
  put('http.response.status_code', e.context?.status)
  return out
}

const RESOURCE: [string, AttributeValue][] = [['service.name', 'svc \u00E9 \uD800 \uD83D\uDE00']]

function decodeOne(record: OtlpLogRecord): ReturnType<typeof decodeExportLogsRequest>[number] {
  const decoded = decodeExportLogsRequest(encodeExportLogsRequest([record], { resource: RESOURCE, scopeName: '@auditkit/core', scopeVersion: '0.1.0' }))
  expect(decoded).toHaveLength(1)
  return decoded[0] as ReturnType<typeof decodeExportLogsRequest>[number]
}

function nanosOf(iso: string): string {
  return (BigInt(Date.parse(iso)) * 1_000_000n).toString()
}

describe('OTLP encoding round trip (property-based)', () => {
  it('gives back every documented attribute of any event, the time to the nanosecond, severity and body', () => {
    fc.assert(
      fc.property(event, (e) => {
        const decoded = decodeOne(eventToLogRecord(e))
        expect(decoded.attributes).toEqual(documentedEventAttributes(e))
        // The JSON text parses back to the stored value itself (lone surrogates included).
        if (e.changes !== undefined) expect(JSON.parse(String(decoded.attributes['audit.changes']))).toEqual(e.changes)
        if (e.metadata !== undefined) expect(JSON.parse(String(decoded.attributes['audit.metadata']))).toEqual(e.metadata)
        expect(decoded.eventName).toBe(e.action)
        expect(decoded.timeUnixNano).toBe(nanosOf(e.occurredAt))
        expect(decoded.observedTimeUnixNano).toBe(decoded.timeUnixNano)
        expect(decoded.severityNumber).toBe(e.outcome === 'success' ? 9 : 13)
        expect(decoded.severityText).toBe(e.outcome === 'success' ? 'INFO' : 'WARN')
        // `<actor name or id> <action> <resource type> [<resource id>] (<outcome>)`
        const who = e.actor.name || e.actor.id
        const what = e.resource.id ? `${e.resource.type} ${e.resource.id}` : e.resource.type
        expect(decoded.body).toBe(asUtf8(`${who} ${e.action} ${what} (${e.outcome})`))
        expect(decoded.resource).toEqual({ 'service.name': asUtf8('svc \u00E9 \uD800 \uD83D\uDE00') })
        expect(decoded.scope).toEqual({ name: '@auditkit/core', version: '0.1.0' })
      }),
      { numRuns: 300 },
    )
  })

  it('gives back every field of any checkpoint as the documented attributes', () => {
    fc.assert(
      fc.property(checkpoint, (c) => {
        const decoded = decodeOne(checkpointToLogRecord(c))
        expect(decoded.eventName).toBe(CHECKPOINT_ACTION)
        expect(decoded.timeUnixNano).toBe(nanosOf(c.createdAt))
        expect(decoded.observedTimeUnixNano).toBe(decoded.timeUnixNano)
        expect([decoded.severityNumber, decoded.severityText]).toEqual([9, 'INFO'])
        expect(decoded.body).toBe(asUtf8(`integrity checkpoint of ${c.chainId} at seq ${c.seq}`))
        // The checkpoint's fields are all written, '' included (`prev_signature` is empty for a chain's first).
        expect(decoded.attributes).toEqual({
          'audit.id': asUtf8(`checkpoint:${c.chainId}:${c.seq}`),
          'audit.action': CHECKPOINT_ACTION,
          'audit.tenant.id': asUtf8(c.chainId),
          'audit.chain.id': asUtf8(c.chainId),
          'audit.seq': c.seq,
          'audit.hash': c.hash,
          'audit.checkpoint.created_at': c.createdAt,
          'audit.checkpoint.prev_signature': c.prevSignature,
          'audit.checkpoint.signature': c.signature,
          'audit.checkpoint.key_id': asUtf8(c.keyId),
        })
      }),
      { numRuns: 200 },
    )
  })

  it('keeps the records of one request in order, each whole, whatever their sizes', () => {
    const record = fc.oneof(event.map(eventToLogRecord), checkpoint.map(checkpointToLogRecord))
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 6 }), (records) => {
        const decoded = decodeExportLogsRequest(encodeExportLogsRequest(records, { resource: [], scopeName: 's' }))
        expect(decoded.map((r) => [r.eventName, r.attributes['audit.id'], r.timeUnixNano])).toEqual(
          records.map((r) => [r.eventName, asUtf8(String(r.attributes.find(([key]) => key === 'audit.id')?.[1])), (BigInt(r.timeMs) * 1_000_000n).toString()]),
        )
      }),
      { numRuns: 60 },
    )
  })

  it('writes any AnyValue (nested lists and maps, ints, doubles, bools, strings) so that it decodes to the same value', () => {
    // Keys other than "__proto__": the receiver's decoder builds a plain object, where that key would set the prototype.
    const key = text.filter((value) => value !== '__proto__')
    const value: fc.Arbitrary<AttributeValue> = fc.letrec<{ value: AttributeValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        text,
        fc.boolean(),
        fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
        fc.double({ noNaN: true }),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(key, tie('value'), { maxKeys: 4 }),
      ),
    })).value
    /** Strings as UTF-8 keeps them, and -0 as 0 (a safe integer, sent as int_value). */
    const expected = (v: AttributeValue): OtlpValue => {
      if (typeof v === 'string') return asUtf8(v)
      if (typeof v === 'number') return Object.is(v, -0) ? 0 : v
      if (typeof v === 'boolean') return v
      if (Array.isArray(v)) return v.map(expected)
      const out: Record<string, OtlpValue> = {}
      for (const [k, item] of Object.entries(v)) out[asUtf8(k)] = expected(item)
      return out
    }
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value), { maxLength: 5 }), (attributes) => {
        // Distinct keys once written as UTF-8 (two lone surrogates both become U+FFFD).
        const unique = [...new Map(attributes.map(([k, v]) => [asUtf8(k), [k, v] as [string, AttributeValue]])).values()]
        const decoded = decodeOne({ timeMs: 0, severityNumber: 9, severityText: 'INFO', eventName: 'x_y', body: '', attributes: unique })
        expect(decoded.attributes).toEqual(Object.fromEntries(unique.map(([k, v]) => [asUtf8(k), expected(v)])))
      }),
      { numRuns: 300 },
    )
  })
})
