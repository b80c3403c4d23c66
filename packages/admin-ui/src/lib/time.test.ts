import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { endOfLocalDay, formatLocal, formatUtc, shiftDay, startOfLocalDay } from './time.js'

// Node reads TZ again when it changes: the conversions are checked in a zone far from UTC.
const previous = process.env.TZ
beforeAll(() => {
  process.env.TZ = 'Asia/Tokyo'
})
afterAll(() => {
  // Assigning undefined would set the zone named "undefined".
  if (previous === undefined) delete process.env.TZ
  else process.env.TZ = previous
})

describe('local days and times', () => {
  it('turns inclusive local days into the UTC bounds [from 00:00, day after to 00:00)', () => {
    expect(startOfLocalDay('2026-11-22')).toBe('2026-11-22T00:00:00+09:00')
    expect(endOfLocalDay('2026-11-22')).toBe('2026-11-23T00:00:00+09:00')
    expect(endOfLocalDay('2026-12-31')).toBe('2027-01-01T00:00:00+09:00')
    // The same instants as the UTC forms the API normalises them to.
    expect(new Date(startOfLocalDay('2026-11-22') as string).toISOString()).toBe('2026-11-21T15:00:00.000Z')
    expect(startOfLocalDay('22/11/2026')).toBeUndefined()
  })

  it('writes each bound with the offset in force on its day (New York leaves summer time on 2026-11-01)', () => {
    process.env.TZ = 'America/New_York'
    try {
      expect(startOfLocalDay('2026-11-01')).toBe('2026-11-01T00:00:00-04:00')
      expect(endOfLocalDay('2026-11-01')).toBe('2026-11-02T00:00:00-05:00')
    } finally {
      process.env.TZ = 'Asia/Tokyo'
    }
  })

  it('keeps the last day the API accepts (9999-12-31) sendable east of UTC, where its end falls in the year 10000 locally', () => {
    // Tokyo: the day ends at 9999-12-31T15:00Z, within the API's range; "10000-01-01T00:00:00+09:00" is no ISO 8601 it reads.
    const end = endOfLocalDay('9999-12-31') as string
    expect(end).toMatch(/^\d{4}-\d{2}-\d{2}T/)
    expect(new Date(end).toISOString()).toBe('9999-12-31T15:00:00.000Z')
    expect(startOfLocalDay('9999-12-31')).toBe('9999-12-31T00:00:00+09:00')
  })

  it('moves a local day by whole days across month and year ends', () => {
    expect(shiftDay('2026-01-10', -30)).toBe('2025-12-11')
    expect(shiftDay('2024-03-01', -1)).toBe('2024-02-29')
    expect(shiftDay('not a day', -30)).toBe('not a day')
  })

  it('shows local time, with UTC to the millisecond for the hover title', () => {
    expect(formatLocal('2026-11-22T08:48:14.123Z')).toBe('2026-11-22 17:48:14')
    expect(formatUtc('2026-11-22T08:48:14.123Z')).toBe('2026-11-22 08:48:14.123 UTC')
    expect(formatLocal('not a date')).toBe('not a date')
  })

  it('writes the date with slashes in Japanese (YYYY/MM/DD HH:mm:ss)', () => {
    expect(formatLocal('2026-11-22T08:48:14.123Z', 'ja')).toBe('2026/11/22 17:48:14')
    expect(formatUtc('2026-11-22T08:48:14.123Z', 'ja')).toBe('2026/11/22 08:48:14.123 UTC')
  })
})
