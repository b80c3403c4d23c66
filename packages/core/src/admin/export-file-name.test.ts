import { describe, expect, it } from 'vitest'
import { exportFileName } from './export-file-name.js'
import { parseInstant } from './query-params.js'

/** The file name of an export asked for with these bounds, as the route reads them. */
function nameFor(from: string | undefined, to: string | undefined, defaults: { from: string; to: string } = { from: '2025-11-22T00:00:00.000Z', to: '2026-11-22T00:00:00.000Z' }): string {
  const range = { from: from === undefined ? defaults.from : parseInstant('from', from), to: to === undefined ? defaults.to : parseInstant('to', to) }
  return exportFileName(range, 'csv', { from, to })
}

describe('exportFileName', () => {
  it('names UTC bounds: dates for midnights (the end as the last day included), Z times otherwise', () => {
    expect(nameFor('2026-03-01', '2026-04-01')).toBe('audit-log_2026-03-01_2026-03-31.csv')
    expect(nameFor('2026-03-01T00:00:00Z', '2026-03-01T01:00:00Z')).toBe('audit-log_2026-03-01_2026-03-01T01-00-00Z.csv')
  })

  it('names local midnights in the offset they were written with (the admin page sends its own)', () => {
    // Tokyo: October 24 - November 23 inclusive, [Oct 24 00:00, Nov 24 00:00) +09:00; in UTC, the day before at 15:00.
    expect(nameFor('2026-10-24T00:00:00+09:00', '2026-11-24T00:00:00+09:00')).toBe('audit-log_2026-10-24_2026-11-23.csv')
    // New York across the change from summer time: each bound in its own offset.
    expect(nameFor('2026-10-01T00:00:00-04:00', '2026-11-02T00:00:00-05:00')).toBe('audit-log_2026-10-01_2026-11-01.csv')
    expect(nameFor('2026-10-01T00:00:00.000+05:30', '2026-10-02T00:00:00+05:30')).toBe('audit-log_2026-10-01_2026-10-01.csv')
  })

  it('keeps the offset in the name of a bound that is not a midnight there', () => {
    expect(nameFor('2026-10-24T09:30:00+09:00', '2026-10-24T18:00:00+09:00')).toBe('audit-log_2026-10-24T09-30-00+09-00_2026-10-24T18-00-00+09-00.csv')
    expect(nameFor('2026-10-24T09:30:00-03:30', '2026-10-25T00:00:00-03:30')).toBe('audit-log_2026-10-24T09-30-00-03-30_2026-10-24.csv')
  })

  it('gives a bound left to its default the offset of the other one', () => {
    expect(nameFor(undefined, '2026-11-24T00:00:00+09:00', { from: '2025-11-23T15:00:00.000Z', to: '' })).toBe('audit-log_2025-11-24_2026-11-23.csv')
    expect(nameFor('2026-10-24T00:00:00+09:00', undefined, { from: '', to: '2026-11-22T11:45:00.001Z' })).toBe('audit-log_2026-10-24_2026-11-22T20-45-00+09-00.csv')
  })

  it('keeps an empty window of whole days as it was asked, rather than ending before it starts', () => {
    expect(nameFor('2026-03-01', '2026-03-01')).toBe('audit-log_2026-03-01_2026-03-01.csv')
  })
})
