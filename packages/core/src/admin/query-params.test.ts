import { describe, expect, it } from 'vitest'
import { AuditKitError } from '../errors.js'
import { FILTER_PARAMS, MAX_QUERY_STRING_LENGTH, parseInstant, readBoolean, readFilters, readInteger, readParams, readRange } from './query-params.js'

const params = (query: string, allowed: readonly string[] = FILTER_PARAMS): Map<string, string> =>
  readParams(new URL(`http://x/api/events?${query}`), allowed)

function codeOf(run: () => unknown): string | undefined {
  try {
    run()
  } catch (error) {
    return error instanceof AuditKitError ? error.code : 'not an AuditKitError'
  }
  return undefined
}

/** The message of the AuditKitError the call throws. */
function messageOf(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    if (error instanceof AuditKitError) return error.message
    throw error
  }
  throw new Error('did not throw')
}

describe('readParams', () => {
  it.each(['actor[$ne]=x', 'actor%5B%24ne%5D=x', '$where=1', 'tenantId=other', 'limit=5'])('refuses the unknown parameter in %s', (query) => {
    expect(codeOf(() => params(query))).toBe('INVALID_QUERY')
  })
  it('refuses repeated parameters (arrays)', () => {
    expect(codeOf(() => params('actor=a&actor=b'))).toBe('INVALID_QUERY')
  })
  it('refuses an oversized query string', () => {
    expect(codeOf(() => params(`q=${'a'.repeat(9000)}`))).toBe('INVALID_QUERY')
    // url.search counts the "?": exactly the limit is accepted, one more refused.
    const fill = (length: number): string => `q=${'a'.repeat(length - '?q='.length)}`
    expect(params(fill(MAX_QUERY_STRING_LENGTH)).get('q')).toHaveLength(MAX_QUERY_STRING_LENGTH - 3)
    expect(messageOf(() => params(fill(MAX_QUERY_STRING_LENGTH + 1)))).toBe('The query string is longer than 8192 characters; narrow the filters.')
  })
  it('names the parameter and what is allowed', () => {
    expect(messageOf(() => params('limit=5', ['actor', 'q']))).toBe('Unknown query parameter "limit". Allowed: actor, q.')
    expect(messageOf(() => params('limit=5', []))).toBe('Unknown query parameter "limit". This route takes no query parameters.')
    expect(messageOf(() => params(`${'n'.repeat(100)}=1`, []))).toBe(`Unknown query parameter "${'n'.repeat(64)}". This route takes no query parameters.`)
    expect(messageOf(() => params('actor=a&actor=b'))).toBe('Query parameter "actor" is given more than once; give it once.')
  })
})

describe('readFilters', () => {
  it('accepts every filter', () => {
    const filters = readFilters(
      params('actor=u1&actorType=api_key&action=project_created&resourceType=api_key&resourceId=p1&outcome=failure&q=Alice'),
    )
    expect(filters).toEqual({ actor: 'u1', actorType: 'api_key', action: 'project_created', resourceType: 'api_key', resourceId: 'p1', outcome: 'failure', q: 'Alice' })
  })
  it.each(['actorType=admin', 'outcome=ok', 'action=DROP%20TABLE', 'resourceType=Project', `actor=${'x'.repeat(300)}`, 'actor=', 'q=a%00b'])(
    'refuses the malformed value %s with a message',
    (query) => {
      expect(codeOf(() => readFilters(params(query)))).toBe('INVALID_QUERY')
    },
  )
  it('sets only the filters given (no keys with undefined values)', () => {
    expect(readFilters(params(''))).toStrictEqual({})
    expect(readFilters(params('actor=u1'))).toStrictEqual({ actor: 'u1' })
    expect(readFilters(params('resourceId=p1&q=x'))).toStrictEqual({ resourceId: 'p1', q: 'x' })
  })
  it('accepts a value of exactly the maximum length', () => {
    expect(readFilters(params(`actor=${'x'.repeat(256)}&q=${'y'.repeat(200)}`))).toStrictEqual({ actor: 'x'.repeat(256), q: 'y'.repeat(200) })
    expect(codeOf(() => readFilters(params(`q=${'y'.repeat(201)}`)))).toBe('INVALID_QUERY')
    expect(readFilters(params(`resourceType=${'r'.repeat(64)}`))).toStrictEqual({ resourceType: 'r'.repeat(64) })
  })
  it('says what is wrong with a value', () => {
    expect(messageOf(() => readFilters(params('actor=')))).toBe('"actor" is empty; leave it out or give a value.')
    expect(messageOf(() => readFilters(params(`actor=${'x'.repeat(257)}`)))).toBe('"actor" is longer than 256 characters.')
    expect(messageOf(() => readFilters(params('q=a%00b')))).toBe('"q" contains control characters.')
    expect(messageOf(() => readFilters(params('outcome=ok')))).toBe('"outcome" must be one of success, failure.')
    expect(messageOf(() => readFilters(params('action=Project')))).toBe('"action" must be snake_case, e.g. "project_created".')
    expect(messageOf(() => readFilters(params('resourceType=Project')))).toBe('"resourceType" must be snake_case, e.g. "api_key".')
  })
})

describe('readRange', () => {
  const now = new Date('2026-06-01T12:00:00.000Z')
  it('defaults to the last 365 days', () => {
    expect(readRange(params(''), { now })).toEqual({ from: '2025-06-01T12:00:00.001Z', to: '2026-06-01T12:00:00.001Z' })
  })
  it('normalises dates and zoned date-times to UTC', () => {
    expect(readRange(params('from=2026-01-01&to=2026-01-31T09:00:00%2B09:00'), { now })).toEqual({
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-01-31T00:00:00.000Z',
    })
  })
  it.each(['from=2026-02-01&to=2026-01-01', 'from=2026-01-01&to=2026-01-01'])('refuses the reversed or empty range %s', (query) => {
    expect(codeOf(() => readRange(params(query), { now }))).toBe('INVALID_RANGE')
  })
  it.each(['2026-02-30', '2026-01-01T25:00Z', '2026-01-01T10:00', 'yesterday', '1700000000', '0001-01-01'])('refuses the instant %s', (value) => {
    expect(codeOf(() => parseInstant('from', value))).toBe('INVALID_RANGE')
  })
  it('refuses an instant past 9999 in UTC, which would compare as earlier than any date (its ISO form is "+010000-...")', () => {
    expect(codeOf(() => parseInstant('from', '9999-12-31T23:00:00-05:00'))).toBe('INVALID_RANGE')
    // Without the check, this `from` passed the `from < to` test and the query returned every event up to now.
    expect(codeOf(() => readRange(params('from=9999-12-31T23:00:00-05:00'), { now }))).toBe('INVALID_RANGE')
    expect(parseInstant('to', '9999-12-31T23:59:59.999Z')).toBe('9999-12-31T23:59:59.999Z')
  })
  it('rounds a fraction finer than a millisecond up, so that [from, to) stays exact', () => {
    expect(parseInstant('from', '2026-01-31T09:00:00.123456789Z')).toBe('2026-01-31T09:00:00.124Z')
    expect(parseInstant('from', '2026-01-31T09:00:00.1234Z')).toBe('2026-01-31T09:00:00.124Z')
    expect(parseInstant('from', '2026-01-31T09:00:00.123000Z')).toBe('2026-01-31T09:00:00.123Z')
    expect(parseInstant('from', '2026-01-31T09:00:00.123Z')).toBe('2026-01-31T09:00:00.123Z')
    expect(parseInstant('from', '2026-01-31T09:00:00.12Z')).toBe('2026-01-31T09:00:00.120Z')
    expect(parseInstant('from', '2026-01-31T09:00:00.999999999+09:00')).toBe('2026-01-31T00:00:01.000Z')
  })
  it('accepts a date-time without seconds, and the years 1970 to 9999 only', () => {
    expect(parseInstant('from', '2026-01-31T09:00Z')).toBe('2026-01-31T09:00:00.000Z')
    expect(parseInstant('from', '1970-01-01')).toBe('1970-01-01T00:00:00.000Z')
    expect(messageOf(() => parseInstant('from', '1969-12-31'))).toBe('"from" must be between 1970 and 9999.')
    expect(messageOf(() => parseInstant('from', '1969-12-31T23:59:59Z'))).toBe('"from" must be between 1970 and 9999.')
  })
  it.each(['x2026-01-31', '2026-01-31x', 'x2026-01-31T09:00:00Z', '2026-01-31T09:00:00Zx', '2026-01-31T09:00:00+09:00x', '2026-01-31T09:00:00.Z', '+002026-01-31T09:00:00Z', '+002026-01-31'])('refuses the instant %s (anchored)', (value) => {
    expect(codeOf(() => parseInstant('from', value))).toBe('INVALID_RANGE')
  })
  it('refuses impossible dates and times of day, with the reason', () => {
    for (const value of ['2026-02-30', '2026-02-30T00:00:00Z', '2025-02-29', '2026-04-31T12:00:00+09:00', '2026-13-01', '2026-00-10'])
      expect(messageOf(() => parseInstant('from', value)), value).toBe(`"from" is not a real date: ${value}.`)
    // Date.parse takes 24:00 (midnight of the next day) and answers NaN for a zone offset past 23:59: both refused.
    expect(messageOf(() => parseInstant('to', '2026-01-31T24:00:00Z'))).toBe('"to" has an impossible time of day: 2026-01-31T24:00:00Z.')
    expect(codeOf(() => parseInstant('to', '2026-01-31T24:00:00Z'))).toBe('INVALID_RANGE')
    expect(messageOf(() => parseInstant('to', '2026-01-31T24:00Z'))).toBe('"to" has an impossible time of day: 2026-01-31T24:00Z.')
    expect(messageOf(() => parseInstant('to', '2026-01-31T09:00:00+99:99'))).toBe('"to" is not a real date: 2026-01-31T09:00:00+99:99.')
  })
  it('explains an offset whose "+" arrived as a space, and only then', () => {
    const hint = '"to" must be an ISO 8601 date or date-time with a zone, e.g. 2026-01-31 or 2026-01-31T09:00:00Z.'
    expect(messageOf(() => parseInstant('to', '2026-01-31T09:00:00 09:00'))).toBe(`${hint} A "+" in a URL must be sent as %2B: to=2026-01-31T09:00:00%2B09:00`)
    expect(messageOf(() => readRange(params('to=2026-01-31T09:00:00+09:00'), { now }))).toContain('to=2026-01-31T09:00:00%2B09:00')
    expect(messageOf(() => parseInstant('to', '2026-01-31T09:00:00 9:00'))).toBe(hint)
    expect(messageOf(() => parseInstant('to', 'yesterday'))).toBe(hint)
    expect(messageOf(() => parseInstant('to', '2'.repeat(41)))).toBe(hint)
  })
  it('uses the window a cursor carries only when the query names no bounds', () => {
    const window = { from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:00.000Z' }
    expect(readRange(params(''), { now, window })).toBe(window)
    expect(readRange(params('from=2026-01-15'), { now, window })).toEqual({ from: '2026-01-15T00:00:00.000Z', to: '2026-06-01T12:00:00.001Z' })
    expect(readRange(params('to=2026-01-15'), { now, window })).toEqual({ from: '2025-01-15T00:00:00.000Z', to: '2026-01-15T00:00:00.000Z' })
  })
  it('names the bound that is wrong', () => {
    expect(messageOf(() => readRange(params('to=soon'), { now }))).toMatch(/^"to" must be/)
    expect(messageOf(() => readRange(params('from=soon'), { now }))).toMatch(/^"from" must be/)
    expect(messageOf(() => readRange(params('from=2026-02-01&to=2026-01-01'), { now }))).toBe(
      '"from" (2026-02-01T00:00:00.000Z) must be earlier than "to" (2026-01-01T00:00:00.000Z); swap them or widen the range.',
    )
  })
})

describe('readInteger', () => {
  it.each(['0', '201', '-1', '1.5', '1e3', 'ten', '9'.repeat(40)])('refuses limit=%s', (value) => {
    expect(codeOf(() => readInteger(params(`limit=${value}`, ['limit']), 'limit', { min: 1, max: 200, default: 50 }))).toBe('INVALID_QUERY')
  })
  it('accepts the bounds and defaults when absent', () => {
    const bounds = { min: 1, max: 200, default: 50 }
    const limit = (query: string): number => readInteger(params(query, ['limit']), 'limit', bounds)
    expect(limit('')).toBe(50)
    expect(limit('limit=1')).toBe(1)
    expect(limit('limit=200')).toBe(200)
    expect(limit('limit=007')).toBe(7)
    expect(readInteger(params('limit=999999', ['limit']), 'limit', { min: 0, max: 10_000_000, default: 0 })).toBe(999_999)
    expect(codeOf(() => readInteger(params('limit=1000000', ['limit']), 'limit', { min: 0, max: 10_000_000, default: 0 }))).toBe('INVALID_QUERY')
    expect(messageOf(() => limit('limit=0'))).toBe('"limit" must be a whole number from 1 to 200.')
  })
})

describe('readBoolean', () => {
  const bom = (query: string, fallback: boolean): boolean => readBoolean(params(query, ['bom']), 'bom', fallback)
  it('reads true/1 and false/0, and defaults when absent', () => {
    expect(bom('bom=true', false)).toBe(true)
    expect(bom('bom=1', false)).toBe(true)
    expect(bom('bom=false', true)).toBe(false)
    expect(bom('bom=0', true)).toBe(false)
    expect(bom('', true)).toBe(true)
    expect(bom('', false)).toBe(false)
  })
  it.each(['', 'yes', 'TRUE', '2', 'true '])('refuses bom=%s', (value) => {
    expect(messageOf(() => bom(`bom=${encodeURIComponent(value)}`, false))).toBe('"bom" must be true or false.')
  })
})
