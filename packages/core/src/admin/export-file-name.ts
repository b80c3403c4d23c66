import type { TimeRange } from './types.js'

/** `2026-01-01` for midnight UTC, else `2026-01-01T09-30-00Z` (no colons: they are not allowed in Windows file names). */
function fileStamp(instant: string): string {
  if (instant.endsWith('T00:00:00.000Z')) return instant.slice(0, 10)
  return instant.replace(/\.\d{3}Z$/, 'Z').replaceAll(':', '-')
}

export function exportFileName(range: TimeRange, extension: string): string {
  return `audit-log_${fileStamp(range.from)}_${fileStamp(range.to)}.${extension}`
}
