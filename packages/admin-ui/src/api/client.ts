import type {
  AuditEvent,
  FieldProblem,
  ColumnDef,
  EventFilters,
  EventsPage,
  Facets,
  SiemSettings,
  SiemSettingsAnswer,
  SiemStatus,
  TestConnectionResult,
  VerifyResult,
} from './types.js'

/** An error answer of the admin API (`{ error: { code, message } }`) or a network failure (`status` 0). */
export class ApiError extends Error {
  override readonly name = 'ApiError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: FieldProblem[] = [],
  ) {
    super(message)
  }
}

/** `ApiError.code` of an answer that is not the API's JSON (e.g. a login page reached through a redirect). */
export const UNEXPECTED_RESPONSE = 'UNEXPECTED_RESPONSE'

type Json = Record<string, unknown>

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null
}

/**
 * The API lives under the page's own directory: `{base}/` serves the page and `{base}/api/...` the data,
 * so the page works under whatever path the host app mounts it at.
 */
export function apiUrl(path: string, params: Record<string, string | undefined> = {}): string {
  const url = new URL(`api/${path}`, pageBase())
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') url.searchParams.set(key, value)
  return url.toString()
}

function pageBase(): URL {
  const here = new URL(window.location.href)
  here.hash = ''
  here.search = ''
  // `{base}` without a trailing slash still means the directory `{base}/`.
  if (!here.pathname.endsWith('/') && !/\.[a-z0-9]+$/i.test(here.pathname)) here.pathname += '/'
  return new URL('.', here)
}

async function request(url: string, init: RequestInit = {}): Promise<unknown> {
  let response: Response
  try {
    response = await fetch(url, { credentials: 'same-origin', ...init, headers: { accept: 'application/json', ...init.headers } })
  } catch (error) {
    throw new ApiError(0, 'NETWORK', error instanceof Error ? error.message : String(error))
  }
  const text = await response.text()
  let body: unknown = null
  let json = text !== ''
  if (json) {
    try {
      body = JSON.parse(text)
    } catch {
      json = false
    }
  }
  if (!response.ok) {
    const error = isObject(body) && isObject(body.error) ? body.error : {}
    throw new ApiError(response.status, str(error.code) ?? `HTTP_${response.status}`, str(error.message) ?? response.statusText, problems(error.details))
  }
  // Every API route answers JSON. Anything else is not ours: typically the host's login page after its session
  // ended (fetch follows the redirect and sees a 200). Read as data, it would look like an empty log or no settings.
  if (!json) throw new ApiError(response.status, UNEXPECTED_RESPONSE, `Not an answer of the audit log API (${response.headers.get('content-type') ?? 'no content type'} from ${response.url})`)
  return body
}

function problems(value: unknown): FieldProblem[] {
  if (!Array.isArray(value)) return []
  return value.filter(isObject).map((entry) => ({ path: str(entry.path) ?? '', reason: str(entry.reason) ?? '', message: str(entry.message) ?? '' }))
}

function filterParams(filters: EventFilters): Record<string, string | undefined> {
  return { ...filters }
}

export async function fetchEvents(filters: EventFilters, cursor: string | null, limit = 50): Promise<EventsPage> {
  const body = await request(apiUrl('events', { ...filterParams(filters), limit: String(limit), cursor: cursor ?? undefined }))
  const items = isObject(body) && Array.isArray(body.items) ? (body.items as AuditEvent[]) : []
  const nextCursor = isObject(body) ? str(body.nextCursor) : null
  return { items, nextCursor }
}

export async function fetchEvent(id: string): Promise<AuditEvent> {
  return (await request(apiUrl(`events/${encodeURIComponent(id)}`))) as AuditEvent
}

export async function fetchFacets(filters: EventFilters): Promise<Facets> {
  const body = await request(apiUrl('facets', { from: filters.from, to: filters.to }))
  const facets = isObject(body) ? body : {}
  return {
    actors: Array.isArray(facets.actors) ? (facets.actors as Facets['actors']) : [],
    actions: Array.isArray(facets.actions) ? (facets.actions as Facets['actions']) : [],
    resourceTypes: Array.isArray(facets.resourceTypes) ? (facets.resourceTypes as Facets['resourceTypes']) : [],
  }
}

export async function fetchColumns(): Promise<ColumnDef[]> {
  const body = await request(apiUrl('columns'))
  const list = isObject(body) && Array.isArray(body.columns) ? body.columns : []
  const columns: ColumnDef[] = []
  for (const entry of list) {
    if (!isObject(entry)) continue
    const key = str(entry.id)
    if (key === null) continue
    const labels = isObject(entry.label) ? entry.label : {}
    const en = str(labels.en) ?? key
    columns.push({ key, label: { en, ja: str(labels.ja) ?? en }, defaultVisible: entry.default === true })
  }
  return columns
}

export function exportCsvUrl(params: EventFilters & { columns: string[]; locale: string }): string {
  const { columns, locale, ...filters } = params
  return apiUrl('export.csv', { ...filterParams(filters), columns: columns.join(','), locale })
}

function normalizeStatus(value: unknown): SiemStatus | null {
  if (!isObject(value)) return null
  const lastError = value.lastError
  return {
    state: str(value.state) ?? 'unknown',
    eventsBehind: num(value.eventsBehind),
    lastSuccessAt: str(value.lastSuccessAt),
    lastError: isObject(lastError)
      ? {
          message: str(lastError.message) ?? '',
          at: str(lastError.at) ?? undefined,
          result: str(lastError.result) ?? undefined,
          attempts: num(lastError.attempts) ?? undefined,
          nextAttemptAt: str(lastError.nextAttemptAt) ?? undefined,
          exportError: isObject(lastError.exportError)
            ? { message: str(lastError.exportError.message) ?? '', at: str(lastError.exportError.at) ?? undefined, result: str(lastError.exportError.result) ?? undefined }
            : undefined,
        }
      : null,
  }
}

function normalizeSettings(value: unknown): SiemSettings {
  const settings = isObject(value) ? value : {}
  const headers: Record<string, string> = {}
  if (isObject(settings.headers)) for (const [key, v] of Object.entries(settings.headers)) if (typeof v === 'string') headers[key] = v
  return {
    enabled: settings.enabled === true,
    endpoint: str(settings.endpoint) ?? '',
    protocol: settings.protocol === 'grpc' ? 'grpc' : 'http/protobuf',
    headers,
  }
}

function normalizeSettingsAnswer(body: unknown): SiemSettingsAnswer {
  const root = isObject(body) ? body : {}
  const settings = isObject(root.settings) ? root.settings : {}
  return { settings: normalizeSettings(settings), status: normalizeStatus(root.status), updatedAt: str(settings.updatedAt) }
}

export async function fetchSiemSettings(): Promise<SiemSettingsAnswer> {
  return normalizeSettingsAnswer(await request(apiUrl('settings/siem')))
}

export async function saveSiemSettings(settings: SiemSettings): Promise<SiemSettingsAnswer> {
  const body = await request(apiUrl('settings/siem'), {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(settings),
  })
  return normalizeSettingsAnswer(body)
}

export async function testSiemConnection(settings: SiemSettings): Promise<TestConnectionResult> {
  const body = await request(apiUrl('settings/siem/test'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(settings),
  })
  const root = isObject(body) ? body : {}
  const result = str(root.result) ?? 'unknown'
  return {
    ok: root.ok === true && result === 'ok',
    result,
    message: str(root.message),
    hint: str(root.hint),
    status: num(root.httpStatus),
    durationMs: num(root.durationMs),
    details: problems(root.details),
  }
}

export async function verifyIntegrity(range: { from?: string; to?: string }): Promise<VerifyResult> {
  const body = await request(apiUrl('integrity/verify', range))
  const root = isObject(body) ? body : {}
  const broken = isObject(root.firstBreak) ? root.firstBreak : null
  const checkedRange = isObject(root.range) ? root.range : null
  const checkpoints = isObject(root.checkpoints) ? root.checkpoints : null
  return {
    ok: root.ok === true,
    checked: num(root.eventsChecked),
    range: checkedRange === null ? null : { from: num(checkedRange.from) ?? 0, to: num(checkedRange.to) },
    checkpoints: checkpoints === null ? null : { count: num(checkpoints.count) ?? 0, signatures: str(checkpoints.signatures) ?? 'unchecked' },
    firstBroken:
      broken === null
        ? null
        : { seq: num(broken.seq), id: str(broken.eventId), reason: str(broken.reason) ?? 'unknown', message: str(broken.message) },
    warnings: Array.isArray(root.warnings) ? root.warnings.filter((w): w is string => typeof w === 'string') : [],
  }
}
