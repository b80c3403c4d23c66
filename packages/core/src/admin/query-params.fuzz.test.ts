import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { AuditKitError } from '../errors.js'
import type { AuditStore, EventPage, Facets } from '../store/types.js'
import { createAuditAdmin } from './create-audit-admin.js'
import { createCursorCodec, type CursorPosition } from './cursor.js'
import { FILTER_PARAMS, parseInstant, readFilters, readInteger, readParams, readRange } from './query-params.js'

/**
 * Property-based tests of the admin API's input: any query string gives a parsed query or `AuditKitError` with a
 * stable code (HTTP 400 through the Fetch handler, never a 500); any cursor the codec did not issue for these filters
 * is refused with `INVALID_CURSOR`, never misread.
 */

const QUERY_CODES: ReadonlySet<string> = new Set(['INVALID_QUERY', 'INVALID_RANGE'])
const NOW = new Date('2026-03-01T12:00:00.000Z')

const VALUE_UNITS = ['a', 'Z', '0', '9', '_', '-', ':', 'T', '.', '+', ' ', '%', '&', '=', '#', '?', '[', ']', '$', '\u0000', '\u001F', '\u007F', '\u00E9', '\uD83D\uDE00', '\uD800']
const paramName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...FILTER_PARAMS, 'limit', 'cursor', 'columns', 'locale', 'bom') },
  { weight: 1, arbitrary: fc.constantFrom('actor[$ne]', '__proto__', 'constructor', 'tenantId', '', 'ACTOR', 'from ') },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
)
const paramValue = fc.oneof(
  fc.constantFrom(
    '', 'user', 'api_key', 'system', 'success', 'failure', 'project_created', 'api_key', 'Project', 'true', '0', '1', '200', '201', '-1', '1e2', '007',
    '2026-01-31', '2026-02-30', '2026-01-31T09:00:00Z', '2026-01-31T09:00:00.123456789+09:00', '2026-01-31T24:00:00Z', '9999-12-31T23:59:59-01:00',
    '1969-12-31', '2026-01-31T09:00:00 09:00', 'id,occurredAt', 'en', 'ja', 'x'.repeat(257), 'a'.repeat(201),
  ),
  fc.string({ unit: fc.constantFrom(...VALUE_UNITS), maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
)
/** A query string: encoded pairs (as a browser sends them), raw pairs (as a hand-written URL), or any text. */
const query = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.tuple(paramName, paramValue, fc.boolean()), { maxLength: 5 }).map((pairs) => pairs.map(([n, v, raw]) => (raw ? `${n}=${v}` : `${encodeURIComponent(n)}=${encodeURIComponent(v.replace(/[\uD800-\uDFFF]/g, 'x'))}`)).join('&')) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
)

function codeOf(run: () => unknown): string | undefined {
  try {
    run()
  } catch (error) {
    if (!(error instanceof AuditKitError)) throw new Error(`threw ${String(error)} instead of an AuditKitError`, { cause: error })
    return error.code
  }
  return undefined
}

describe('query parameters (property-based)', () => {
  it('any query string reads as filters, a range and a limit, or fails with INVALID_QUERY / INVALID_RANGE', () => {
    fc.assert(
      fc.property(query, (search) => {
        let url: URL
        try {
          url = new URL(`http://admin.test/api/events?${search}`)
        } catch {
          return // not a URL a server would be handed
        }
        const code = codeOf(() => {
          const params = readParams(url, [...FILTER_PARAMS, 'limit'])
          const filters = readFilters(params)
          const range = readRange(params, { now: NOW })
          const limit = readInteger(params, 'limit', { min: 1, max: 200, default: 50 })
          // What is accepted is what the store can take: plain strings without controls, a real forward range.
          for (const value of Object.values(filters)) {
            expect(typeof value).toBe('string')
            // eslint-disable-next-line no-control-regex
            expect(value).not.toMatch(/[\x00-\x1F\x7F]/)
          }
          expect(range.from < range.to).toBe(true)
          expect(new Date(range.from).toISOString()).toBe(range.from)
          expect(new Date(range.to).toISOString()).toBe(range.to)
          expect(Number.isInteger(limit) && limit >= 1 && limit <= 200).toBe(true)
        })
        if (code !== undefined) expect(QUERY_CODES.has(code), code).toBe(true)
      }),
      { numRuns: 1500 },
    )
  })

  it('parseInstant: an accepted instant is the normalised UTC ISO form of a real date in 1970-9999', () => {
    const instant = fc.tuple(
      fc.integer({ min: 1960, max: 10001 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 }),
      fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 61 }), fc.integer({ min: 0, max: 61 }),
      fc.option(fc.string({ unit: fc.constantFrom('0', '1', '5', '9'), minLength: 1, maxLength: 10 })),
      fc.constantFrom('Z', '+00:00', '+09:00', '-12:00', '+14:00', '-00:30', '+99:99', ''), fc.boolean(),
    ).map(([y, mo, d, h, mi, s, frac, zone, dateOnly]) => {
      const p = (n: number, w = 2): string => String(n).padStart(w, '0')
      const date = `${p(y, 4)}-${p(mo)}-${p(d)}`
      return dateOnly ? date : `${date}T${p(h)}:${p(mi)}:${p(s)}${frac === null ? '' : `.${frac}`}${zone}`
    })
    fc.assert(
      fc.property(fc.oneof(instant, fc.string({ maxLength: 30 })), (value) => {
        let out: string | undefined
        const code = codeOf(() => (out = parseInstant('from', value)))
        if (code !== undefined) return void expect(code).toBe('INVALID_RANGE')
        expect(out).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
        const year = Number(value.slice(0, 4))
        expect(year >= 1970 && year <= 9999).toBe(true)
        // Never later than the instant written, and less than a millisecond after it (sub-millisecond fractions round up).
        const written = Date.parse(value.replace(/(\.\d{3})\d+/, '$1'))
        if (Number.isFinite(written)) expect(Date.parse(out as string) - written).toBeLessThanOrEqual(1)
      }),
      { numRuns: 1500 },
    )
  })
})

describe('cursor codec (property-based)', () => {
  const codec = createCursorCodec()
  const iso = fc.date({ min: new Date('1970-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }).map((d) => d.toISOString())
  const position: fc.Arbitrary<CursorPosition> = fc.record({
    after: fc.record({ occurredAt: iso, id: fc.string({ minLength: 1, maxLength: 60 }) }),
    window: fc.record({ from: iso, to: iso }),
  })
  const binding = fc.string({ maxLength: 40 })

  it('decodes what it encoded for the same binding, exactly', () => {
    fc.assert(
      fc.property(position, binding, (p, b) => {
        const cursor = codec.encode(p, b)
        if (cursor.length > 512) return // longer than decode accepts: an id this long is not a real event id
        expect(codec.decode(cursor, b)).toEqual(p)
      }),
      { numRuns: 500 },
    )
  })

  it('refuses a cursor for other filters, any one-character edit, and any text it did not issue', () => {
    const refused = (cursor: string, b: string): void => {
      expect(codeOf(() => codec.decode(cursor, b))).toBe('INVALID_CURSOR')
    }
    fc.assert(
      fc.property(position, binding, binding, fc.nat(), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), fc.string({ maxLength: 80 }), (p, b, other, at, replacement, junk) => {
        const cursor = codec.encode(p, b)
        if (other !== b) refused(cursor, other)
        const i = at % cursor.length
        const edited = cursor.slice(0, i) + replacement + cursor.slice(i + 1)
        if (edited !== cursor) refused(edited, b)
        refused(cursor.slice(0, i), b)
        refused(`${cursor}${replacement}`, b)
        if (junk !== cursor) refused(junk, b)
      }),
      { numRuns: 500 },
    )
  })

  it('a cursor signed with another key is refused', () => {
    const other = createCursorCodec('another secret')
    fc.assert(
      fc.property(position, binding, (p, b) => {
        expect(codeOf(() => codec.decode(other.encode(p, b), b))).toBe('INVALID_CURSOR')
      }),
      { numRuns: 200 },
    )
  })
})

describe('admin Fetch handler (property-based)', () => {
  const page: EventPage = { items: [], next: { occurredAt: '2026-02-01T00:00:00.000Z', id: 'e1' } }
  const facets: Facets = { actors: [], actions: [], resourceTypes: [] }
  const store = {
    query: () => Promise.resolve(page),
    facets: () => Promise.resolve(facets),
    get: () => Promise.resolve(null),
    async *stream() {},
  } as Partial<AuditStore> as AuditStore
  const errors: unknown[] = []
  const admin = createAuditAdmin({
    store,
    uiDir: false,
    clock: () => NOW,
    onError: (error) => errors.push(error),
    authorize: () => ({ tenantId: 't1', actor: { type: 'user', id: 'ada' } }),
  })
  const ANSWER_CODES: ReadonlySet<string> = new Set(['INVALID_QUERY', 'INVALID_RANGE', 'INVALID_CURSOR', 'NOT_FOUND'])
  const route = fc.constantFrom('/api/events', '/api/facets', '/api/export.csv', '/api/columns', '/api/events/e1')

  it('answers any query on any read route with 200, or 400/404 with a coded JSON error; never a 500', async () => {
    const statuses = new Set<number>()
    await fc.assert(
      fc.asyncProperty(route, query, fc.boolean(), async (path, search, head) => {
        let request: Request
        try {
          request = new Request(`http://admin.test${path}?${search}`, { method: head ? 'HEAD' : 'GET' })
        } catch {
          return
        }
        const response = await admin.fetch(request)
        statuses.add(response.status)
        if (response.status === 200) return void (await response.body?.cancel())
        expect([400, 404]).toContain(response.status)
        if (!head) {
          const body = (await response.json()) as { error: { code: string; message: string } }
          expect(ANSWER_CODES.has(body.error.code), body.error.code).toBe(true)
          expect(body.error.message.length).toBeGreaterThan(0)
        }
        expect(errors).toEqual([])
      }),
      { numRuns: 400 },
    )
    // Both sides were reached, not only refusals.
    expect(statuses.has(200) && statuses.has(400)).toBe(true)
  })

  it('a cursor from one page works for the next, and is refused (400 INVALID_CURSOR) once edited or reused with other filters', async () => {
    const first = (await (await admin.fetch(new Request('http://admin.test/api/events?actor=ada'))).json()) as { nextCursor: string }
    expect((await admin.fetch(new Request(`http://admin.test/api/events?actor=ada&cursor=${encodeURIComponent(first.nextCursor)}`))).status).toBe(200)
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.constantFrom('A', '_', '-', '.', '0'), fc.constantFrom('actor=ada', 'actor=bob', 'actor=ada&outcome=success', ''), async (at, replacement, filters) => {
        const i = at % first.nextCursor.length
        const edited = first.nextCursor.slice(0, i) + replacement + first.nextCursor.slice(i + 1)
        if (edited === first.nextCursor && filters === 'actor=ada') return
        const response = await admin.fetch(new Request(`http://admin.test/api/events?${filters}${filters ? '&' : ''}cursor=${encodeURIComponent(edited)}`))
        expect(response.status).toBe(400)
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('INVALID_CURSOR')
      }),
      { numRuns: 200 },
    )
  })
})
