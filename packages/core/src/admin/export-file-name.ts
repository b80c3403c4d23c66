import type { TimeRange } from './types.js'

const WRITTEN_OFFSET = /T[\d:.]+([+-])(\d{2}):(\d{2})$/

/** Minutes east of UTC of a bound written with a numeric offset (`...T00:00:00+09:00`); null for `Z`, dates, none. */
function offsetOf(written: string | undefined): number | null {
  const match = written === undefined ? null : WRITTEN_OFFSET.exec(written)
  if (match === null) return null
  const minutes = Number(match[2]) * 60 + Number(match[3])
  return match[1] === '-' ? -minutes : minutes
}

/**
 * A bound for a file name, in the offset it was written with: `2026-01-01` for a midnight there, else
 * `2026-01-01T09-30-00Z` or `...T09-30-00+09-00` (no colons: they are not allowed in Windows file names).
 */
function fileStamp(instant: string, offsetMinutes: number | null): string {
  const shifted = new Date(Date.parse(instant) + (offsetMinutes ?? 0) * 60_000).toISOString()
  if (shifted.endsWith('T00:00:00.000Z')) return shifted.slice(0, 10)
  const local = shifted.replace(/\.\d{3}Z$/, '').replaceAll(':', '-')
  if (offsetMinutes === null || offsetMinutes === 0) return `${local}Z`
  const sign = offsetMinutes < 0 ? '-' : '+'
  const abs = Math.abs(offsetMinutes)
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}-${String(abs % 60).padStart(2, '0')}`
}

/** The day before an end stamp that is a date (the window's last whole day), unless that is before the start. */
function lastDayIncluded(toStamp: string, fromStamp: string): string {
  if (toStamp.length !== 10) return toStamp
  const lastDay = new Date(Date.parse(`${toStamp}T00:00:00.000Z`) - 86_400_000).toISOString().slice(0, 10)
  return lastDay >= fromStamp.slice(0, 10) ? lastDay : toStamp
}

/**
 * `audit-log_<from>_<to>.<extension>`, each bound in the zone offset the client wrote it with (the admin page sends
 * its local midnights, so a Tokyo admin's October 24 - November 23 is named `..._2026-10-24_2026-11-23.csv`, not
 * after the UTC instants of the day before). An end at a midnight is named by the last day it includes, as people
 * name periods (`2026-03-01_2026-03-31` for March), not by the exclusive bound. A bound left to its default takes
 * the other's offset; else UTC.
 */
export function exportFileName(range: TimeRange, extension: string, written: { from?: string | undefined; to?: string | undefined } = {}): string {
  const fromOffset = offsetOf(written.from)
  const toOffset = offsetOf(written.to)
  const fromStamp = fileStamp(range.from, written.from === undefined ? toOffset : fromOffset)
  const toStamp = fileStamp(range.to, written.to === undefined ? fromOffset : toOffset)
  return `audit-log_${fromStamp}_${lastDayIncluded(toStamp, fromStamp)}.${extension}`
}
