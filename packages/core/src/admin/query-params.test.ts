import { describe, expect, it } from 'vitest'
import { AuditKitError } from '../errors.js'
import { FILTER_PARAMS, parseInstant, readFilters, readInteger, readParams, readRange } from './query-params.js'

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

describe('readParams', () => {
  it.each(['actor[$ne]=x', 'actor%5B%24ne%5D=x', '$where=1', 'tenantId=other', 'limit=5'])('refuses the unknown parameter in %s', (query) => {
    expect(codeOf(() => params(query))).toBe('INVALID_QUERY')
  })
  it('refuses repeated parameters (arrays)', () => {
    expect(codeOf(() => params('actor=a&actor=b'))).toBe('INVALID_QUERY')
  })
  it('refuses an oversized query string', () => {
    expect(codeOf(() => params(`q=${'a'.repeat(9000)}`))).toBe('INVALID_QUERY')
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
})

describe('readInteger', () => {
  it.each(['0', '201', '-1', '1.5', '1e3', 'ten', '9'.repeat(40)])('refuses limit=%s', (value) => {
    expect(codeOf(() => readInteger(params(`limit=${value}`, ['limit']), 'limit', { min: 1, max: 200, default: 50 }))).toBe('INVALID_QUERY')
  })
})
