// Times are stored in UTC; the page shows them in the browser's time zone and gives the UTC value on hover.

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0')
}

/**
 * `2026-11-22 17:48:14` in the browser's time zone: sortable and dense; Japanese writes the date with slashes
 * (`2026/11/22 17:48:14`), the form Japanese users read in every other admin screen.
 */
export function formatLocal(iso: string, locale: 'en' | 'ja' = 'en'): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  const sep = locale === 'ja' ? '/' : '-'
  return `${date.getFullYear()}${sep}${pad(date.getMonth() + 1)}${sep}${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
}

/** `2026-11-22 08:48:14.123 UTC` (Japanese: `2026/11/22 08:48:14.123 UTC`), for the hover title. */
export function formatUtc(iso: string, locale: 'en' | 'ja' = 'en'): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  const text = `${date.toISOString().replace('T', ' ').replace('Z', '')} UTC`
  return locale === 'ja' ? text.replaceAll('-', '/') : text
}

function offsetLabel(date: Date): string {
  const offset = -date.getTimezoneOffset()
  const sign = offset >= 0 ? '+' : '-'
  const abs = Math.abs(offset)
  return `UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

/** The browser's zone's offsets this year: one, or standard and daylight saving time. */
function zoneOffsets(): string[] {
  const year = new Date().getFullYear()
  return [...new Set([offsetLabel(new Date(year, 0, 1)), offsetLabel(new Date(year, 6, 1))])]
}

/** The browser's zone with its offsets, `Asia/Tokyo (UTC+09:00)` or `America/New_York (UTC-05:00 / UTC-04:00)`. */
export function localZoneLabel(): string {
  return `${Intl.DateTimeFormat().resolvedOptions().timeZone} (${zoneOffsets().join(' / ')})`
}

/**
 * Shown next to the time column so nobody mistakes local time for UTC: the offset (`UTC+09:00`), or the zone's name
 * where daylight saving changes the offset, since one offset would be wrong for half of the year's rows.
 */
export function localZoneNote(): string {
  const offsets = zoneOffsets()
  return offsets.length === 1 ? (offsets[0] as string) : Intl.DateTimeFormat().resolvedOptions().timeZone
}

/**
 * A local time with the offset in force then (`2026-11-22T00:00:00+09:00`): the same instant as its UTC form, but
 * the server can name a download after the days the admin picked rather than after their UTC equivalents.
 */
function withLocalOffset(date: Date): string {
  // The end of 9999-12-31 east of UTC is in the local year 10000, which no 4-digit date can write: its UTC form is
  // still within 9999 (the API accepts it) and names the same instant.
  if (date.getFullYear() > 9999) return date.toISOString()
  const east = -date.getTimezoneOffset()
  const offset = `${east < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(east) / 60))}:${pad(Math.abs(east) % 60)}`
  return `${dayOf(date)}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}${offset}`
}

/** A local calendar day (`YYYY-MM-DD` from `<input type=date>`) → the instant of its local midnight. */
export function startOfLocalDay(day: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  if (match === null) return undefined
  return withLocalOffset(new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3])))
}

/** The exclusive end of an inclusive local day: the next day's local midnight. */
export function endOfLocalDay(day: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  if (match === null) return undefined
  return withLocalOffset(new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + 1))
}

/** The local day `days` after `day` (negative: before), as `YYYY-MM-DD`; `day` itself when it is not a day. */
export function shiftDay(day: string, days: number): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  if (match === null) return day
  return dayOf(new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + days))
}

/** Today (or `daysAgo` before) as a local `YYYY-MM-DD`. */
export function localDay(daysAgo = 0): string {
  const date = new Date()
  date.setDate(date.getDate() - daysAgo)
  return dayOf(date)
}

/** A date's local calendar day, `YYYY-MM-DD` (what `<input type=date>` holds). */
function dayOf(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
}
