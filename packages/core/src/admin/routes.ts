import { AuditKitError } from '../errors.js'
import type { AuditLogger } from '../logger/audit-logger.js'
import { AUDIT_COLUMNS, COLUMN_LOCALES } from '../csv/columns.js'
import type { AuditStore } from '../store/types.js'
import type { CursorCodec } from './cursor.js'
import { exportCsv } from './export-csv-route.js'
import { exportFileName } from './export-file-name.js'
import { jsonResponse, withSecurityHeaders } from './http-response.js'
import { primedStream } from './primed-stream.js'
import { recordExport } from './record-export.js'
import { bodyTooDeep, MAX_BODY_DEPTH, nestedDeeperThan } from './request-guards.js'
import { FILTER_PARAMS, readFilters, readInteger, readParams, readRange, type ExplicitFilters } from './query-params.js'
import type { AdminScope, IntegrityAdminService, SiemAdminService } from './types.js'

/** What every route may use, fixed when the handler is created. */
export interface RouteDeps {
  store: AuditStore
  logger: AuditLogger | undefined
  siem: SiemAdminService | undefined
  integrity: IntegrityAdminService | undefined
  cursors: CursorCodec
  clock: () => Date
  maxBodyBytes: number
  onError: (error: unknown) => void
}

export interface RouteContext {
  scope: AdminScope
  /** Decoded path parameters, e.g. `id`. */
  params: Record<string, string>
  deps: RouteDeps
  /**
   * A `HEAD` request, served by the `GET` handler: its status and headers are sent, its body is not. A handler whose
   * body is work (an export reads the events and is recorded once streamed) answers with the headers alone.
   */
  headOnly: boolean
}

export type RouteHandler = (context: RouteContext) => Promise<Response>

export interface Route {
  /** Path below the base, segments starting with `:` capture a parameter. */
  path: string
  methods: Partial<Record<'GET' | 'PUT' | 'POST', RouteHandler>>
}

export const MAX_PAGE_SIZE = 200
export const DEFAULT_PAGE_SIZE = 50
const EVENT_ID = /^[A-Za-z0-9_-]{1,128}$/

/** The cursor is bound to the tenant, the explicit filters and the explicit bounds the first page was asked with. */
function cursorBinding(tenantId: string, filters: ExplicitFilters, params: Map<string, string>): string {
  return JSON.stringify([tenantId, filters, params.get('from') ?? null, params.get('to') ?? null])
}

const listEvents: RouteHandler = async ({ scope, deps }) => {
  const params = readParams(scope.url, [...FILTER_PARAMS, 'limit', 'cursor'])
  const filters = readFilters(params)
  const limit = readInteger(params, 'limit', { min: 1, max: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })
  const binding = cursorBinding(scope.tenantId, filters, params)
  const cursor = params.get('cursor')
  const position = cursor === undefined ? undefined : deps.cursors.decode(cursor, binding)
  const range = readRange(params, { now: deps.clock(), window: position?.window })
  const page = await deps.store.query({
    tenantId: scope.tenantId,
    ...filters,
    ...range,
    limit,
    ...(position ? { after: position.after } : {}),
  })
  const nextCursor = page.next === null ? null : deps.cursors.encode({ after: page.next, window: range }, binding)
  return jsonResponse({ items: page.items, nextCursor })
}

const getEvent: RouteHandler = async ({ scope, params, deps }) => {
  readParams(scope.url, [])
  const id = params['id'] ?? ''
  if (!EVENT_ID.test(id)) throw new AuditKitError('INVALID_QUERY', 'The event id must be 1-128 letters, digits, "-" or "_" (a UUID).')
  const event = await deps.store.get(scope.tenantId, id)
  // Another tenant's id answers exactly like a missing one: no way to probe for existence.
  if (event === null) throw new AuditKitError('NOT_FOUND', `No event with id ${id}.`)
  return jsonResponse(event)
}

const getFacets: RouteHandler = async ({ scope, deps }) => {
  const params = readParams(scope.url, FILTER_PARAMS)
  const filters = readFilters(params)
  const range = readRange(params, { now: deps.clock() })
  return jsonResponse(await deps.store.facets({ tenantId: scope.tenantId, ...filters, ...range }))
}

const getColumns: RouteHandler = async ({ scope }) => {
  readParams(scope.url, [])
  return jsonResponse({
    locales: COLUMN_LOCALES,
    columns: AUDIT_COLUMNS.map((column) => ({ id: column.id, label: column.label, default: column.default })),
  })
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const type = request.headers.get('content-type') ?? ''
  // JSON only: a cross-site form cannot send it without a CORS preflight.
  if (!/^application\/json\s*(;|$)/i.test(type)) throw new AuditKitError('INVALID_BODY', 'Send the body as JSON with "Content-Type: application/json".')
  const declared = Number(request.headers.get('content-length') ?? 0)
  if (declared > maxBytes) throw new AuditKitError('PAYLOAD_TOO_LARGE', `The body is larger than ${maxBytes} bytes.`)
  const chunks: Uint8Array[] = []
  let size = 0
  if (request.body) {
    for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength
      if (size > maxBytes) throw new AuditKitError('PAYLOAD_TOO_LARGE', `The body is larger than ${maxBytes} bytes.`)
      chunks.push(chunk)
    }
  }
  let body: unknown
  try {
    // JSON is UTF-8 (RFC 8259): bytes in another encoding (Shift_JIS, Latin-1) are refused, not saved as U+FFFD.
    body = JSON.parse(utf8.decode(Buffer.concat(chunks))) as unknown
  } catch {
    throw new AuditKitError('INVALID_BODY', 'The body is not valid JSON in UTF-8.')
  }
  // V8 parses any depth; what walks the value next (the service, JSON.stringify of an answer) would overflow the stack.
  if (nestedDeeperThan(body, MAX_BODY_DEPTH)) throw bodyTooDeep()
  return body
}

function siemService(deps: RouteDeps): SiemAdminService {
  if (!deps.siem) throw new AuditKitError('NOT_FOUND', 'SIEM export is not configured on this server (pass `siem` to createAuditAdmin).')
  return deps.siem
}

function integrityService(deps: RouteDeps): IntegrityAdminService {
  if (!deps.integrity) throw new AuditKitError('NOT_FOUND', 'Integrity verification is not configured on this server (pass `integrity` to createAuditAdmin).')
  return deps.integrity
}

const getSiemSettings: RouteHandler = async ({ scope, deps }) => {
  readParams(scope.url, [])
  return jsonResponse(await siemService(deps).getSettings(scope))
}

const putSiemSettings: RouteHandler = async ({ scope, deps }) => {
  readParams(scope.url, [])
  const service = siemService(deps)
  return jsonResponse(await service.saveSettings(scope, await readJsonBody(scope.request, deps.maxBodyBytes)))
}

const testSiemConnection: RouteHandler = async ({ scope, deps }) => {
  readParams(scope.url, [])
  const service = siemService(deps)
  return jsonResponse(await service.testConnection(scope, await readJsonBody(scope.request, deps.maxBodyBytes)))
}

const verifyIntegrity: RouteHandler = async ({ scope, deps }) => {
  const service = integrityService(deps)
  const range = readRange(readParams(scope.url, ['from', 'to']), { now: deps.clock() })
  return jsonResponse(await service.verify(scope, range))
}

const exportNdjson: RouteHandler = async ({ scope, deps, headOnly }) => {
  const service = integrityService(deps)
  if (!service.exportNdjson) throw new AuditKitError('NOT_FOUND', 'NDJSON export is not available on this server.')
  const params = readParams(scope.url, ['from', 'to'])
  const range = readRange(params, { now: deps.clock() })
  const headers = withSecurityHeaders({
    'content-type': 'application/x-ndjson; charset=utf-8',
    'content-disposition': `attachment; filename="${exportFileName(range, 'ndjson', { from: params.get('from'), to: params.get('to') })}"`,
  })
  if (headOnly) return new Response(null, { status: 200, headers })
  const body = service.exportNdjson(scope, range)
  // A full copy of the chain leaves the server: recorded like a CSV download, once the stream ends.
  const chunks = body instanceof ReadableStream ? (body as unknown as AsyncIterable<Uint8Array>) : body
  // The header line, then the chain line, which is the first to read the store.
  const stream = await primedStream(
    toByteStream(
      recordedWhenDone(chunks, (ended) =>
        recordExport(scope, deps, { format: 'ndjson', from: range.from, to: range.to, ...(ended === 'complete' ? {} : { ended }) }, ended !== 'complete'),
      ),
    ),
    2,
  )
  return new Response(stream, { status: 200, headers })
}

/** Passes the chunks through and tells `onEnd` how the stream ended: read to the end, cancelled by the client, or failed. */
async function* recordedWhenDone<T>(
  source: AsyncIterable<T>,
  onEnd: (ended: 'complete' | 'cancelled' | 'failed') => Promise<void>,
): AsyncGenerator<T> {
  let ended: 'complete' | 'cancelled' | 'failed' = 'cancelled'
  try {
    yield* source
    ended = 'complete'
  } catch (error) {
    ended = 'failed'
    throw error
  } finally {
    await onEnd(ended)
  }
}

function toByteStream(source: AsyncIterable<string | Uint8Array>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  const iterator = source[Symbol.asyncIterator]()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next()
      if (next.done) controller.close()
      else controller.enqueue(typeof next.value === 'string' ? encoder.encode(next.value) : next.value)
    },
    async cancel() {
      await iterator.return?.()
    },
  })
}

/** Every admin route. The page's own files (`/`, `/assets/*`) are served by the static UI. */
export const ADMIN_ROUTES: readonly Route[] = [
  { path: '/api/events', methods: { GET: listEvents } },
  { path: '/api/events/:id', methods: { GET: getEvent } },
  { path: '/api/facets', methods: { GET: getFacets } },
  { path: '/api/columns', methods: { GET: getColumns } },
  { path: '/api/export.csv', methods: { GET: exportCsv } },
  { path: '/api/export.ndjson', methods: { GET: exportNdjson } },
  { path: '/api/settings/siem', methods: { GET: getSiemSettings, PUT: putSiemSettings } },
  { path: '/api/settings/siem/test', methods: { POST: testSiemConnection } },
  { path: '/api/integrity/verify', methods: { GET: verifyIntegrity } },
]

export interface RouteMatch {
  route: Route
  params: Record<string, string>
}

/** Finds the route for a path below the base; a malformed escape in the path matches nothing. */
export function matchRoute(relativePath: string): RouteMatch | null {
  const segments = relativePath.split('/')
  for (const route of ADMIN_ROUTES) {
    const pattern = route.path.split('/')
    if (pattern.length !== segments.length) continue
    const params: Record<string, string> = {}
    let matched = true
    for (let i = 0; i < pattern.length && matched; i++) {
      const expected = pattern[i] as string
      const actual = segments[i] as string
      if (expected.startsWith(':')) {
        try {
          params[expected.slice(1)] = decodeURIComponent(actual)
        } catch {
          matched = false
        }
        if (actual === '') matched = false
      } else matched = expected === actual
    }
    if (matched) return { route, params }
  }
  return null
}
