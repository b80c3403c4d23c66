import { AuditKitError } from '../errors.js'
import type { JsonObject } from '../event/schema.js'
import { COLUMN_LOCALES, DEFAULT_COLUMN_IDS, findColumn, type AuditColumn, type ColumnLocale } from '../csv/columns.js'
import { createCsvStream } from '../csv/csv-stream.js'
import { primedStream } from './primed-stream.js'
import { withSecurityHeaders } from './http-response.js'
import { FILTER_PARAMS, readBoolean, readFilters, readParams, readRange } from './query-params.js'
import { exportFileName } from './export-file-name.js'
import { recordExport } from './record-export.js'
import type { RouteHandler } from './routes.js'

const MAX_COLUMNS = 64

function readColumns(value: string | undefined): AuditColumn[] {
  const ids = value === undefined ? DEFAULT_COLUMN_IDS : value.split(',').map((id) => id.trim())
  if (ids.length === 0 || ids.length > MAX_COLUMNS) throw new AuditKitError('INVALID_QUERY', `"columns" must list 1 to ${MAX_COLUMNS} column ids.`)
  const seen = new Set<string>()
  return ids.map((id) => {
    const column = findColumn(id)
    if (!column) throw new AuditKitError('INVALID_QUERY', `Unknown column "${id.slice(0, 64)}" in "columns"; GET api/columns lists the valid ids.`)
    if (seen.has(id)) throw new AuditKitError('INVALID_QUERY', `Column "${id}" is listed twice in "columns".`)
    seen.add(id)
    return column
  })
}

/**
 * `GET {base}/api/export.csv`: the filtered events of `[from, to)`, oldest first, streamed as CSV.
 * The download is recorded as `audit_log_exported` once the stream ends (with the row count, or as a failure).
 */
export const exportCsv: RouteHandler = async ({ scope, deps, headOnly }) => {
  const params = readParams(scope.url, [...FILTER_PARAMS, 'columns', 'locale', 'bom'])
  const filters = readFilters(params)
  const range = readRange(params, { now: deps.clock() })
  const columns = readColumns(params.get('columns'))
  const localeParam = params.get('locale') ?? 'en'
  if (!(COLUMN_LOCALES as readonly string[]).includes(localeParam))
    throw new AuditKitError('INVALID_QUERY', `"locale" must be one of ${COLUMN_LOCALES.join(', ')}.`)
  const locale = localeParam as ColumnLocale
  const bom = readBoolean(params, 'bom', true)
  const headers = withSecurityHeaders({
    'content-type': 'text/csv; charset=utf-8; header=present',
    'content-disposition': `attachment; filename="${exportFileName(range, 'csv', { from: params.get('from'), to: params.get('to') })}"`,
  })
  if (headOnly) return new Response(null, { status: 200, headers })

  const record = async (result: { rows: number; error?: unknown; cancelled: boolean }): Promise<void> => {
    const metadata: JsonObject = {
      format: 'csv',
      from: range.from,
      to: range.to,
      filters: { ...filters },
      columns: columns.map((c) => c.id),
      locale,
      rows: result.rows,
    }
    if (result.error !== undefined) metadata['ended'] = result.cancelled ? 'cancelled' : 'failed'
    await recordExport(scope, deps, metadata, result.error !== undefined)
  }

  const csv = createCsvStream({
    events: deps.store.stream({ tenantId: scope.tenantId, ...filters, ...range }),
    columns,
    locale,
    bom,
    onEnd: record,
  })
  const body = await primedStream(csv)
  return new Response(body, { status: 200, headers })
}
