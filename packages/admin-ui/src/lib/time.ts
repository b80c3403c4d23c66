// Times are stored in UTC; the page shows them in the browser's time zone and gives the UTC value on hover.

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0')
}

/** `2026-11-22 17:48:14` in the browser's time zone: sortable, dense and the same in both languages. */
export function formatLocal(iso: string): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
}

/** `2026-11-22 08:48:14.123 UTC`, for the hover title. */
export function formatUtc(iso: string): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return `${date.toISOString().replace('T', ' ').replace('Z', '')} UTC`
}

/** The browser's offset as `UTC+09:00`, shown next to the time column so nobody mistakes local time for UTC. */
export function localZoneLabel(): string {
  const offset = -new Date().getTimezoneOffset()
  const sign = offset >= 0 ? '+' : '-'
  const abs = Math.abs(offset)
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone
  return `${zone} (UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)})`
}

/** A local calendar day (`YYYY-MM-DD` from `<input type=date>`) → the UTC instant of its local midnight. */
export function startOfLocalDay(day: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  if (match === null) return undefined
  return new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3])).toISOString()
}

/** The exclusive end of an inclusive local day: the next day's local midnight, in UTC. */
export function endOfLocalDay(day: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  if (match === null) return undefined
  return new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + 1).toISOString()
}

/** Today (or `daysAgo` before) as a local `YYYY-MM-DD`. */
export function localDay(daysAgo = 0): string {
  const date = new Date()
  date.setDate(date.getDate() - daysAgo)
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
}
